package policy

import (
	"errors"
	"strings"
)

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
	// Any white space left is inside the name ("*. contoso.com", a line break): no domain a
	// message can carry has it, so a pattern with it would never match what it seems to.
	if strings.ContainsAny(s, "@ \t\r\n\v\f") {
		return "", false, errors.New("not a domain name")
	}
	dom, err = configDomain(s)
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
