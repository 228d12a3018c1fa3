package rewrite

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// Sentinel errors of a rule load, for errors.Is. Every error a load returns is a *LoadError
// that wraps one of them and quotes the bad value.
var (
	// ErrSyntax: a line or CSV row that is not a rule (missing field, unknown option, bad
	// OutboundOnly value, missing column, not UTF-8).
	ErrSyntax = errors.New("malformed rule")
	// ErrBadAddress: an internal or external side that is not an address or domain, or whose
	// kind does not fit the other side (an address rule needs an external address, a domain
	// rule an external domain).
	ErrBadAddress = errors.New("malformed address or domain")
	// ErrWildcardNotOutboundOnly: a *.domain rule must be outbound-only (as in Exchange).
	ErrWildcardNotOutboundOnly = errors.New("wildcard rule must be outbound-only")
	// ErrCollision: two bidirectional rules share an external side, so inbound mail for it
	// would be ambiguous.
	ErrCollision = errors.New("external side already used by another bidirectional rule (inbound would be ambiguous)")
	// ErrDuplicate: two rules share an internal side.
	ErrDuplicate = errors.New("duplicate internal side")
	// ErrBadException: an exception that is not a domain under its wildcard, or an exception
	// on a rule that is not a wildcard.
	ErrBadException = errors.New("bad exception")
	// ErrRoundTrip: an address that leaves by a bidirectional domain rule comes back, by a more
	// specific bidirectional address rule, to a mailbox of another domain.
	ErrRoundTrip = errors.New("replies would go to another mailbox")
	// ErrLossyExport: an address holds "?" in a file that looks like an ASCII export that
	// replaced every non-ASCII character with "?".
	ErrLossyExport = errors.New("address damaged by an ASCII export")
)

// LoadError is one problem of a rule load, at a file and line (Line 0: the file as a whole).
type LoadError struct {
	Pos Position
	Err error
}

// Error returns "file:line: what is wrong: \"bad value\"".
func (e *LoadError) Error() string {
	if e.Pos.Line == 0 {
		return e.Pos.File + ": " + e.Err.Error()
	}
	return e.Pos.String() + ": " + e.Err.Error()
}

// Unwrap returns the wrapped error, so errors.Is finds the sentinel.
func (e *LoadError) Unwrap() error { return e.Err }

// errAt is the *LoadError of a rule at file:line; long values in args are cut (clipArg).
func errAt(file string, line int, sentinel error, format string, args ...any) *LoadError {
	args = slices.Clone(args)
	for i, a := range args {
		args[i] = clipArg(a)
	}
	return &LoadError{Pos: Position{File: file, Line: line}, Err: fmt.Errorf("%w"+format, append([]any{sentinel}, args...)...)}
}

// sortErrors orders errors by file then line, so an admin reads them top to bottom; a file's
// *MoreProblems comes last.
func sortErrors(errs []error) {
	slices.SortStableFunc(errs, func(a, b error) int {
		pa, pb := problemPos(a), problemPos(b)
		return cmp.Or(cmp.Compare(pa.File, pb.File), cmp.Compare(pa.Line, pb.Line))
	})
}

// problemPos is where a load error is, for sorting: a *MoreProblems after every line.
func problemPos(e error) Position {
	var le *LoadError
	if !errors.As(e, &le) {
		return Position{}
	}
	var mp *MoreProblems
	if errors.As(le.Err, &mp) {
		return Position{File: le.Pos.File, Line: math.MaxInt}
	}
	return le.Pos
}

// compiled is a rule with the lookup forms of its sides. The table and every snapshot share
// it; it never changes once built.
type compiled struct {
	Rule
	// in and ex are the lookup forms (lookupForm / NormalizeDomain) of Internal and External:
	// local is "" for domain and wildcard rules; for a wildcard, in.domain is the domain after "*.".
	in, ex normAddr
	// exc holds the lookup forms of a wildcard's exceptions.
	exc []string
	// fields is the line of a native rule as parsed: its fields joined by single spaces
	// (Internal and External are substrings of it). A reload reuses the rule when its line's
	// fields are the same.
	fields string
}

type normAddr struct{ local, domain string }

// compile checks one rule on its own (the checks that need no other rule) and computes its
// lookup forms. The rule's Kind is derived from Internal, whatever it was. Errors are
// *LoadError at r.Pos.
func compile(r Rule) (*compiled, []error) {
	var errs []error
	bad := func(sentinel error, format string, args ...any) {
		errs = append(errs, errAt(r.Pos.File, r.Pos.Line, sentinel, format, args...))
	}
	c := &compiled{Rule: r}
	switch {
	case strings.HasPrefix(r.Internal, "*."):
		c.Kind = KindWildcard
		d, err := NormalizeDomain(r.Internal[2:])
		if err != nil {
			bad(ErrBadAddress, ": internal wildcard %q: %v", r.Internal, err)
		}
		c.in.domain = d
	case strings.Contains(r.Internal, "@"):
		c.Kind = KindAddress
		c.in = ruleAddress(r.Internal, "internal", bad)
	default:
		c.Kind = KindDomain
		c.in.domain = ruleDomain(r.Internal, "internal", bad)
	}
	switch {
	case c.Kind == KindAddress && !strings.Contains(r.External, "@"):
		bad(ErrBadAddress, ": an address rule needs an external address, not %q", r.External)
	case c.Kind != KindAddress && strings.Contains(r.External, "@"):
		bad(ErrBadAddress, ": a %s rule needs an external domain, not the address %q", c.Kind, r.External)
	case c.Kind == KindAddress:
		c.ex = ruleAddress(r.External, "external", bad)
	default:
		c.ex.domain = ruleDomain(r.External, "external", bad)
	}
	if c.Kind == KindWildcard && !r.OutboundOnly {
		bad(ErrWildcardNotOutboundOnly, ": %q", r.Internal)
	}
	if len(r.Exceptions) > 0 && c.Kind != KindWildcard {
		bad(ErrBadException, ": only a *.domain rule takes exceptions, %q is a %s rule", r.Internal, c.Kind)
	}
	if c.Kind == KindWildcard && c.in.domain != "" {
		for _, e := range r.Exceptions {
			d, err := NormalizeDomain(e)
			switch {
			case err != nil:
				bad(ErrBadException, ": not a domain (%v): %q", err, e)
			case !strings.HasSuffix(d, "."+c.in.domain):
				bad(ErrBadException, ": not a subdomain of %q: %q", c.in.domain, e)
			case !slices.Contains(c.exc, d):
				c.exc = append(c.exc, d)
			}
		}
	}
	if errs != nil {
		return nil, errs
	}
	return c, nil
}

func ruleAddress(s, side string, bad func(error, string, ...any)) normAddr {
	l, d, ok := SplitAddress(s)
	if !ok {
		bad(ErrBadAddress, ": %s address: %q", side, s)
		return normAddr{}
	}
	if l == "*" || strings.Contains(d, "*") {
		bad(ErrBadAddress, ": %s address: a wildcard is only allowed as *.domain on the internal side: %q", side, s)
		return normAddr{}
	}
	if !validLocal(l) {
		bad(ErrBadAddress, ": %s address has a malformed local part: %q", side, s)
		return normAddr{}
	}
	nl, nd, err := lookupForm(s)
	if err != nil {
		bad(ErrBadAddress, ": %s address (%v): %q", side, err, s)
		return normAddr{}
	}
	return normAddr{local: nl, domain: nd}
}

func ruleDomain(s, side string, bad func(error, string, ...any)) string {
	if strings.Contains(s, "*") {
		bad(ErrBadAddress, ": %s side: a wildcard is only allowed as *.domain on the internal side: %q", side, s)
		return ""
	}
	d, err := NormalizeDomain(s)
	if err != nil {
		bad(ErrBadAddress, ": %s domain (%v): %q", side, err, s)
	}
	return d
}

// validLocal reports whether l is a local part a rule may name: a dot-atom or a quoted-string
// (RFC 5322 §3.4.1, UTF-8 allowed per RFC 6532), at most 64 octets (RFC 5321 §4.5.3.1.1).
func validLocal(l string) bool {
	if len(l) > 64 || !utf8.ValidString(l) {
		return false
	}
	if isDotAtom(l) {
		return true
	}
	if len(l) < 2 || l[0] != '"' || l[len(l)-1] != '"' {
		return false
	}
	in := l[1 : len(l)-1]
	for i := 0; i < len(in); i++ {
		switch c := in[i]; {
		case c == '\\':
			// quoted-pair = "\" (VCHAR / WSP) (RFC 5322 §3.2.1): a control character stays
			// out even when escaped, as it does unescaped.
			if i++; i == len(in) || in[i] < ' ' && in[i] != '\t' || in[i] == 0x7f {
				return false
			}
		case c == '"', c < ' ' && c != '\t', c == 0x7f:
			return false
		}
	}
	return true
}

// sameRule reports whether two rules are the same, as written and where.
func sameRule(a, b *Rule) bool {
	return a.Pos == b.Pos && a.Name == b.Name && a.Internal == b.Internal && a.External == b.External &&
		a.Kind == b.Kind && a.OutboundOnly == b.OutboundOnly && slices.Equal(a.Exceptions, b.Exceptions)
}
