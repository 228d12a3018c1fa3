package policy

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// maxDomainLen is the longest domain name in presentation form (RFC 1035 §2.3.4, 255 octets on
// the wire, less the length bytes and the root).
const maxDomainLen = 253

// maxLabelLen is the longest label (RFC 1035 §2.3.4).
const maxLabelLen = 63

// normDomain returns d as a lower-case A-label without a trailing dot, the form every domain is
// compared in, or an error when d is not a valid domain name (UTS #46 lookup rules, RFC 5891 §5).
// Upper case and full-width letters fold (UTS #46 mapping), so "Bücher.EXAMPLE.",
// "xn--bcher-kva.example" and "BÜCHER.example" are equal.
func normDomain(d string) (string, error) {
	d = strings.TrimSuffix(strings.TrimSpace(d), ".")
	if d == "" {
		return "", errors.New("empty domain")
	}
	if !utf8.ValidString(d) {
		return "", errors.New("not a valid domain name: not UTF-8")
	}
	a, err := idna.Lookup.ToASCII(d)
	if err != nil {
		return "", fmt.Errorf("not a valid domain name: %w", err)
	}
	a = strings.ToLower(a)
	if len(a) > maxDomainLen {
		return "", fmt.Errorf("domain name longer than %d characters", maxDomainLen)
	}
	for label := range strings.SplitSeq(a, ".") {
		switch {
		case label == "":
			return "", errors.New("not a valid domain name: empty label")
		case len(label) > maxLabelLen:
			return "", fmt.Errorf("not a valid domain name: label longer than %d characters", maxLabelLen)
		}
	}
	return a, nil
}

// msgDomain is normDomain for a domain taken from a message: it never fails. A domain that is not
// valid (a literal "[192.0.2.1]", a typo, garbage) comes back only trimmed and lower-cased, so it
// still compares, and never equals a valid configured domain.
func msgDomain(d string) string {
	if n, err := normDomain(d); err == nil {
		return n
	}
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
}

// parseDomainPattern parses a configured domain or domain pattern: "contoso.com", or
// "*.contoso.com" for contoso.com and every domain below it. It returns the normalised domain
// and whether it was a pattern.
func parseDomainPattern(s string) (dom string, wildcard bool, err error) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "*."); ok {
		s, wildcard = rest, true
	}
	if strings.Contains(s, "*") {
		return "", false, errors.New(`a wildcard is allowed only as a leading "*." ("*.contoso.com")`)
	}
	if strings.ContainsAny(s, "@ \t") {
		return "", false, errors.New("not a domain name")
	}
	dom, err = normDomain(s)
	return dom, wildcard, err
}

// patternString is the canonical text of a domain pattern.
func patternString(dom string, wildcard bool) string {
	if wildcard {
		return "*." + dom
	}
	return dom
}

// domainMap maps domains and domain patterns to values. Lookup prefers an exact entry, then the
// pattern of the nearest enclosing domain ("*.sales.contoso.com" over "*.contoso.com").
type domainMap[V any] struct {
	exact map[string]V
	wild  map[string]V
}

func newDomainMap[V any]() domainMap[V] {
	return domainMap[V]{exact: map[string]V{}, wild: map[string]V{}}
}

// get returns the value stored for exactly this entry.
func (m domainMap[V]) get(dom string, wildcard bool) (V, bool) {
	if wildcard {
		v, ok := m.wild[dom]
		return v, ok
	}
	v, ok := m.exact[dom]
	return v, ok
}

// put stores v for the entry.
func (m domainMap[V]) put(dom string, wildcard bool, v V) {
	if wildcard {
		m.wild[dom] = v
	} else {
		m.exact[dom] = v
	}
}

// lookup finds the most specific entry covering the normalised domain d.
func (m domainMap[V]) lookup(d string) (V, bool) {
	var found V
	ok := m.each(d, func(v V) bool { found = v; return true })
	return found, ok
}

// each calls fn with the entries covering the normalised domain d, most specific first (the
// exact entry, then the patterns of d, its parent, ...), until fn returns true; it reports
// whether one did.
func (m domainMap[V]) each(d string, fn func(V) bool) bool {
	if v, ok := m.exact[d]; ok && fn(v) {
		return true
	}
	for s := d; s != ""; {
		if v, ok := m.wild[s]; ok && fn(v) {
			return true
		}
		i := strings.IndexByte(s, '.')
		if i < 0 {
			break
		}
		s = s[i+1:]
	}
	return false
}

// len is the number of entries.
func (m domainMap[V]) len() int { return len(m.exact) + len(m.wild) }
