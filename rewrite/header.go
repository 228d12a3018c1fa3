package rewrite

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnparsable is wrapped by the error RewriteAddressList returns for a field value that is not
// an RFC 5322 address-list; the error says what is wrong and at which byte.
var ErrUnparsable = errors.New("unparsable address list")

// ErrBadReplacement is wrapped by the error RewriteAddressList returns when fn gives back
// something that cannot stand as an addr-spec in a header (no '@', a control character, a bad
// domain). The value is then left unchanged.
var ErrBadReplacement = errors.New("replacement is not a valid address")

// RewriteAddressList rewrites each addr-spec of an RFC 5322 §3.4 address-list / mailbox-list
// field value through fn and changes no other byte: display names, quoting, comments, RFC 2047
// encoded words, groups ("undisclosed-recipients:;"), source routes, the leading space and
// folding (CRLF or LF) stay as they are.
//
// fn gets the addr-spec without CFWS; a quoted local part that is a plain dot-atom is passed
// unquoted ("john"@x as john@x), any other quoted local part in canonical quoted form. fn returns
// the new address and true, or false to leave the address alone; an answer equal to what fn was
// given changes nothing. A local part in the new address that needs quoting is quoted. fn is
// called only once the whole value has parsed.
//
// A value that cannot be parsed comes back unchanged with an error wrapping ErrUnparsable. An
// empty value, or one of white space only, comes back unchanged without error.
func RewriteAddressList(value string, fn func(addr string) (string, bool)) (string, error) {
	p := listScanner{s: value}
	if err := p.scan(); err != nil {
		return value, err
	}
	return p.rewrite(fn)
}

// rewrite is RewriteAddressList on a value p has scanned without error.
func (p *listScanner) rewrite(fn func(addr string) (string, bool)) (string, error) {
	value := p.s
	var b strings.Builder
	last := 0
	for i := 0; i < p.n; i++ {
		sp := p.span(i)
		n, ok := fn(sp.addr)
		if !ok || n == sp.addr {
			continue
		}
		repl, err := formatAddrSpec(n, sp.addr[:strings.LastIndexByte(sp.addr, '@')])
		if err != nil {
			return value, fmt.Errorf("%w: %q (for %q): %v", ErrBadReplacement, n, sp.addr, err)
		}
		if repl == value[sp.start:sp.end] {
			continue
		}
		if b.Cap() == 0 {
			b.Grow(len(value) + len(repl))
		}
		b.WriteString(value[last:sp.start])
		b.WriteString(repl)
		last = sp.end
	}
	if b.Cap() == 0 {
		return value, nil
	}
	b.WriteString(value[last:])
	return b.String(), nil
}

// formatAddrSpec makes an address returned by fn fit for a header: the local part is quoted if
// it is neither a dot-atom nor already a quoted string (RFC 5322 §3.4.1), unless it is the local
// part fn was given (kept by a domain rule, as "taro..yamada." stays as the sender wrote it).
func formatAddrSpec(a, oldLocal string) (string, error) {
	i := strings.LastIndexByte(a, '@')
	if i < 0 {
		return "", errors.New("no '@'")
	}
	for j := 0; j < len(a); j++ {
		if c := a[j]; c < ' ' || c == 0x7f {
			return "", fmt.Errorf("control character %q", c)
		}
	}
	local, domain := a[:i], a[i+1:]
	if !isDotAtomText(domain) && !isDomainLiteral(domain) {
		return "", fmt.Errorf("bad domain %q", domain)
	}
	if local == oldLocal || isDotAtomText(local) || isQuotedString(local) {
		return a, nil
	}
	return quote(local) + "@" + domain, nil
}

// isDotAtomText: dot-atom-text = 1*atext *("." 1*atext) (RFC 5322 §3.2.3, RFC 6532).
func isDotAtomText(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '.' && !isAtext6532(s[i]) {
			return false
		}
	}
	return true
}

// isDomainLiteral: "[" *dtext "]" on one line (RFC 5322 §3.4.1).
func isDomainLiteral(s string) bool {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return false
	}
	return !strings.ContainsAny(s[1:len(s)-1], "[]\\")
}

// isQuotedString reports a complete quoted-string on one line: DQUOTE *(qtext / quoted-pair)
// DQUOTE (RFC 5322 §3.2.4).
func isQuotedString(s string) bool {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		switch s[i] {
		case '\\':
			i++
			if i == len(s)-1 {
				return false
			}
		case '"':
			return false
		}
	}
	return true
}

// lookupLocal turns a scanned local part (words, dots and CFWS, already validated) into the
// form fn gets: the words' contents joined without CFWS; if that is a dot-atom it is returned
// as is, else quoted.
func lookupLocal(raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); {
		switch c := raw[i]; {
		case c == '"':
			for i++; i < len(raw) && raw[i] != '"'; i++ {
				switch raw[i] {
				case '\\':
					i++
					b.WriteByte(raw[i])
				case '\r', '\n':
				default:
					b.WriteByte(raw[i])
				}
			}
			i++
		case c == '(':
			i = skipComment(raw, i)
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		default:
			b.WriteByte(c)
			i++
		}
	}
	if s := b.String(); isDotAtomText(s) {
		return s
	}
	return quote(b.String())
}

// stripCFWS removes comments and white space from a scanned domain (obs-domain). A domain
// literal is returned as written.
func stripCFWS(raw string) string {
	if strings.HasPrefix(raw, "[") {
		return raw
	}
	var b strings.Builder
	for i := 0; i < len(raw); {
		switch c := raw[i]; {
		case c == '(':
			i = skipComment(raw, i)
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// skipComment returns the offset after the (already validated, possibly nested) comment at
// raw[i].
func skipComment(raw string, i int) int {
	depth := 0
	for ; i < len(raw); i++ {
		switch raw[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return i
}
