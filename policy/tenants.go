package policy

import (
	"errors"
	"strconv"
	"strings"
)

// tenant is a compiled [[tenant]].
type tenant struct {
	name string
	// ids holds the normalised tenant IDs; nil when the check is off.
	ids map[string]struct{}
	// forwarding lets senders outside the organisation pass (allow_foreign_from, default on).
	forwarding bool
}

// compileTenants validates the [[tenant]] tables and fills p.tenants, p.owners and p.org.
func (p *Policy) compileTenants(ts []Tenant, ps *problems) {
	p.tenants = make(map[string]*tenant, len(ts))
	index := map[string]int{}
	for i, t := range ts {
		r := ps.entry("tenant", i, t.Name)
		nt := &tenant{name: t.Name, forwarding: t.AllowForeignFrom == nil || *t.AllowForeignFrom}
		switch {
		case t.Name == "":
			r.add("name", ErrMissing, "name is not set")
		case p.tenants[t.Name] != nil:
			r.add("name", ErrDuplicate, "name %q is used by an earlier tenant (#%d)", t.Name, index[t.Name]+1)
		default:
			p.tenants[t.Name] = nt
			index[t.Name] = i
		}
		if len(t.SenderDomains) == 0 {
			r.add("sender_domains", ErrMissing,
				"sender_domains is empty: every message from this tenant's connectors would be refused")
		}
		for _, s := range t.SenderDomains {
			dom, wild, err := parseDomainPattern(s)
			if err != nil {
				r.add("sender_domains", ErrBadValue, "sender domain %q: %w", s, err)
				continue
			}
			if other, ok := p.owners.get(dom, wild); ok {
				if other != nt {
					r.add("sender_domains", ErrDuplicate,
						"sender domain %q is also claimed by tenant %q", patternString(dom, wild), other.name)
				}
				continue
			}
			p.owners.put(dom, wild, nt)
			p.org.put(dom, wild, struct{}{})
		}
		for _, s := range t.TenantIDs {
			id, err := parseTenantID(s)
			if err != nil {
				r.add("tenant_ids", ErrBadValue, "tenant ID %q: %w", s, err)
				continue
			}
			if nt.ids == nil {
				nt.ids = map[string]struct{}{}
			}
			nt.ids[id] = struct{}{}
		}
	}
}

// normTenantID is the comparison form of an X-MS-Exchange-CrossTenant-Id value: trimmed,
// braces dropped, lower case.
func normTenantID(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
		s = s[1 : len(s)-1]
	}
	return strings.ToLower(s)
}

// parseTenantID checks that s is a GUID (8-4-4-4-12 hex digits, RFC 9562 §4) and returns its
// comparison form.
func parseTenantID(s string) (string, error) {
	id := normTenantID(s)
	if len(id) != 36 {
		return "", errors.New("not a GUID such as " + strconv.Quote("335836de-42ef-43a2-b145-348c2ee9ca5b"))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", errors.New("not a GUID: a '-' belongs at position " + strconv.Itoa(i+1))
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return "", errors.New("not a GUID: " + strconv.QuoteRune(rune(c)) + " is not a hex digit")
			}
		}
	}
	return id, nil
}
