package policy

import "strings"

// pilot is the compiled pilot scope.
type pilot struct {
	all     bool
	addrs   addrSet
	domains domainMap[struct{}]
}

// compileOrganization validates [organization] and adds its domains to p.org.
func (p *Policy) compileOrganization(o Organization, ps *problems) {
	r := ps.entry("organization", -1, "")
	for _, s := range o.Domains {
		dom, wild, err := parseDomainPattern(s)
		if err != nil {
			r.add("domains", ErrBadValue, "domain %q: %w", s, err)
			continue
		}
		p.org.put(dom, wild, struct{}{})
	}
	p.pilot = pilot{
		all:     len(o.PilotSenders) == 0,
		addrs:   addrSet{addrs: map[string]struct{}{}, delims: p.delims},
		domains: newDomainMap[struct{}](),
	}
	for _, s := range o.PilotSenders {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(s), "@"); ok {
			dom, wild, err := parseDomainPattern(rest)
			if err != nil {
				r.add("pilot_senders", ErrBadValue, "pilot sender %q: %w", s, err)
				continue
			}
			p.pilot.domains.put(dom, wild, struct{}{})
			continue
		}
		key, err := parseConfigAddr(s)
		if err != nil {
			r.add("pilot_senders", ErrBadValue, "pilot sender %q: %w; write \"@domain\" for a whole domain", s, err)
			continue
		}
		p.pilot.addrs.addrs[key] = struct{}{}
	}
}

// has reports whether a sender address is in the pilot scope.
func (pl pilot) has(addr string) bool {
	if pl.all {
		return true
	}
	if pl.addrs.has(addr) {
		return true
	}
	d := domainOf(envAddr(addr))
	if d.norm == "" {
		return false
	}
	_, ok := pl.domains.lookup(d.norm)
	return ok
}
