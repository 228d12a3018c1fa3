package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// connector is a compiled [[connector]]. A nil criterion slice means "not set".
type connector struct {
	name     string
	tenant   *tenant
	nets     []netip.Prefix
	daemons  []string
	subjects []string // lower case, "CN=" dropped
	issuers  []string // lower case, "CN=" dropped
	logins   []string
	tempfail bool
	observe  bool
}

// compileConnectors validates the [[connector]] tables (after the tenants) and fills
// p.connectors, then reports connectors that can never match.
func (p *Policy) compileConnectors(cs []Connector, ps *problems) {
	names := map[string]int{} // name -> index of its first connector
	var valid []int           // indexes of the connectors without problems
	for i, c := range cs {
		r := ps.entry("connector", i, c.Name)
		before := len(ps.errs)
		nc := &connector{name: c.Name, observe: c.Observe}
		if j, dup := names[c.Name]; c.Name == "" {
			r.add("name", ErrMissing, "name is not set")
		} else if dup {
			r.add("name", ErrDuplicate, "name %q is used by an earlier connector (#%d)", c.Name, j+1)
		} else {
			names[c.Name] = i
		}
		switch t := p.tenants[c.Tenant]; {
		case c.Tenant == "":
			r.add("tenant", ErrMissing, "tenant is not set: say whose mail this connector carries")
		case t == nil:
			r.add("tenant", ErrUnknownTenant, "tenant %q is not defined", c.Tenant)
		default:
			nc.tenant = t
		}
		switch c.OnFailure {
		case "", "reject":
		case "tempfail":
			nc.tempfail = true
		default:
			r.add("on_failure", ErrBadValue, "on_failure %q is not \"reject\" or \"tempfail\"", c.OnFailure)
		}
		for _, s := range c.Networks {
			n, err := parseNetwork(s)
			if err != nil {
				r.add("networks", ErrBadValue, "network %q: %w", s, err)
				continue
			}
			nc.nets = append(nc.nets, n)
		}
		nc.daemons = criterion(r, "daemon_names", c.DaemonNames, nil)
		nc.subjects = criterion(r, "cert_subjects", c.CertSubjects, certName)
		nc.issuers = criterion(r, "cert_issuers", c.CertIssuers, certName)
		nc.logins = criterion(r, "sasl_logins", c.SASLLogins, nil)
		if len(c.Networks)+len(c.DaemonNames)+len(c.CertSubjects)+len(c.CertIssuers)+len(c.SASLLogins) == 0 {
			r.add("", ErrMissing, "no criterion is set (networks, daemon_names, cert_subjects, "+
				"cert_issuers, sasl_logins): it would make every client a trusted sender")
		}
		p.connectors = append(p.connectors, nc)
		if len(ps.errs) == before {
			valid = append(valid, i)
		}
	}
	p.reportShadowed(valid, ps)
}

// reportShadowed reports each valid connector that an earlier valid one always matches first.
func (p *Policy) reportShadowed(valid []int, ps *problems) {
	for vj, j := range valid {
		later := p.connectors[j]
		for _, i := range valid[:vj] {
			earlier := p.connectors[i]
			if !earlier.covers(later) {
				continue
			}
			r := ps.entry("connector", j, later.name)
			if later.covers(earlier) {
				r.add("", ErrOverlap, "has the same criteria as connector %q before it, so it never matches", earlier.name)
			} else {
				r.add("", ErrOverlap, "can never match: connector %q before it matches every client this one would "+
					"(put the narrower connector first)", earlier.name)
			}
			break
		}
	}
}

// covers reports whether every client d matches is also matched by c: every criterion c sets,
// d sets too, with values that c's values include.
func (c *connector) covers(d *connector) bool {
	if c.nets != nil {
		if d.nets == nil {
			return false
		}
		for _, dn := range d.nets {
			if !slices.ContainsFunc(c.nets, func(cn netip.Prefix) bool {
				return cn.Bits() <= dn.Bits() && cn.Contains(dn.Addr())
			}) {
				return false
			}
		}
	}
	return subset(c.daemons, d.daemons) && subset(c.subjects, d.subjects) &&
		subset(c.issuers, d.issuers) && subset(c.logins, d.logins)
}

// subset reports whether criterion values d are all in c, c being unset (nil) meaning "any".
func subset(c, d []string) bool {
	if c == nil {
		return true
	}
	if d == nil {
		return false
	}
	for _, v := range d {
		if !slices.Contains(c, v) {
			return false
		}
	}
	return true
}

// criterion validates the values of a string criterion; norm, when set, checks and normalises
// each. It returns nil when no value is set.
func criterion(r reporter, key string, vals []string, norm func(string) (string, error)) []string {
	var out []string
	for _, v := range vals {
		if strings.TrimSpace(v) == "" {
			r.add(key, ErrBadValue, "an empty value never matches; remove it")
			continue
		}
		if norm != nil {
			n, err := norm(v)
			if err != nil {
				r.add(key, ErrBadValue, "%q: %w", v, err)
				continue
			}
			v = n
		}
		out = append(out, v)
	}
	if len(vals) > 0 && out == nil {
		out = []string{} // set, but nothing valid: matches nothing (the config is refused anyway)
	}
	return out
}

// certName normalises a cert_subjects or cert_issuers value to the form Postfix's
// {cert_subject} and {cert_issuer} carry: the common name alone, compared in lower case.
func certName(v string) (string, error) {
	v = strings.TrimSpace(v)
	if len(v) > 3 && strings.EqualFold(v[:3], "CN=") {
		v = v[3:]
	}
	if strings.Contains(v, "=") && strings.ContainsAny(v, ",/") {
		return "", errors.New("looks like a whole distinguished name; Postfix gives milters only the " +
			"common name, e.g. \"relay.tenanta.contoso.com\"")
	}
	return strings.ToLower(v), nil
}

// parseNetwork parses "192.0.2.0/24", "2001:db8::/32" or a single address.
func parseNetwork(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, errors.New("not an address or a network such as \"40.92.0.0/15\"")
		}
		if a.Zone() != "" {
			return netip.Prefix{}, errors.New("an IPv6 zone is not allowed")
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	n, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, errors.New("not a network such as \"40.92.0.0/15\"")
	}
	if m := n.Masked(); m != n {
		return netip.Prefix{}, fmt.Errorf("host bits are set; the network is %q", m.String())
	}
	if a := n.Addr(); a.Is4In6() && n.Bits() >= 96 {
		n = netip.PrefixFrom(a.Unmap(), n.Bits()-96)
	}
	return n, nil
}
