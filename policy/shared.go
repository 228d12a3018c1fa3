package policy

import "github.com/edgerewrite/edgerewrite/rewrite"

// unresolvedMode is what a [[domain]] does with a recipient no rule resolves.
type unresolvedMode uint8

const (
	unresolvedReject unresolvedMode = iota // authoritative: 550 5.1.1
	unresolvedPass                         // deliver unchanged
	unresolvedRoute                        // rewrite to local@route_to
)

// sharedDomain is a compiled [[domain]].
type sharedDomain struct {
	name    string
	mode    unresolvedMode
	routeTo string
	keep    addrSet
}

// compileDomains validates the [[domain]] tables, fills p.shared and adds the names to p.org.
func (p *Policy) compileDomains(ds []Domain, ps *problems) {
	p.shared = make(map[string]*sharedDomain, len(ds))
	index := map[string]int{}
	for i, d := range ds {
		r := ps.entry("domain", i, d.Name)
		sd := &sharedDomain{keep: addrSet{addrs: map[string]struct{}{}, delims: p.delims}}
		if d.Name == "" {
			r.add("name", ErrMissing, "name is not set")
		} else if dom, wild, err := parseDomainPattern(d.Name); err != nil {
			r.add("name", ErrBadValue, "domain %q: %w", d.Name, err)
		} else if wild {
			r.add("name", ErrBadValue, "name must be one domain, not a pattern")
		} else if p.shared[dom] != nil {
			r.add("name", ErrDuplicate, "domain %q is configured by an earlier [[domain]] (#%d)", dom, index[dom]+1)
		} else {
			sd.name = dom
			index[dom] = i
			p.shared[dom] = sd
			p.org.put(dom, false, struct{}{})
		}
		switch d.Unresolved {
		case "", "reject":
			sd.mode = unresolvedReject
		case "pass":
			sd.mode = unresolvedPass
		case "route":
			sd.mode = unresolvedRoute
		default:
			r.add("unresolved", ErrBadValue, "unresolved %q is not \"reject\", \"pass\" or \"route\"", d.Unresolved)
		}
		switch {
		case sd.mode == unresolvedRoute && d.RouteTo == "":
			r.add("route_to", ErrMissing, "unresolved = \"route\" needs route_to (the routing domain, e.g. \"live.contoso.edu\")")
		case sd.mode != unresolvedRoute && d.RouteTo != "":
			r.add("route_to", ErrUnusedKey, "route_to is only used with unresolved = \"route\"")
		case d.RouteTo != "":
			dom, err := configDomain(d.RouteTo)
			switch {
			case err != nil:
				r.add("route_to", ErrBadValue, "route_to %q: %w", d.RouteTo, err)
			case dom == sd.name:
				r.add("route_to", ErrBadValue, "route_to %q is the domain itself: mail would loop", d.RouteTo)
			default:
				sd.routeTo = dom
			}
		}
		if sd.mode != unresolvedRoute && len(d.Keep) > 0 {
			r.add("keep", ErrUnusedKey, "keep is only used with unresolved = \"route\"")
		}
		for _, s := range d.Keep {
			key, err := parseConfigAddr(s)
			if err != nil {
				r.add("keep", ErrBadValue, "keep %q: %w", s, err)
				continue
			}
			if _, dom, _ := rewrite.SplitAddress(key); sd.name != "" && dom != sd.name {
				r.add("keep", ErrBadValue, "keep %q is not an address of %s", s, sd.name)
				continue
			}
			sd.keep.addrs[key] = struct{}{}
		}
	}
}
