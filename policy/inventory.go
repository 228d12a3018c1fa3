package policy

import (
	"maps"
	"slices"
)

// Inventory is what a policy serves, by name. The daemon compares the inventories of the
// generation in service and of the next one, so that an automatic reload that would drop an
// organisation domain, a connector or a tenant waits for the admin's confirmation.
type Inventory struct {
	// OrgDomains are the organisation's domains and domain patterns ("*.contoso.com"), sorted.
	OrgDomains []string
	// Connectors and Tenants are the names of the configured connectors and tenants, sorted.
	Connectors []string
	Tenants    []string
	// RefusesAllMail is true when no organisation domain is configured: relay protection then
	// refuses every recipient of Internet mail.
	RefusesAllMail bool
}

// Inventory returns the policy's inventory.
func (p *Policy) Inventory() Inventory {
	var inv Inventory
	for d := range p.org.exact {
		inv.OrgDomains = append(inv.OrgDomains, patternString(d, false))
	}
	for d := range p.org.wild {
		inv.OrgDomains = append(inv.OrgDomains, patternString(d, true))
	}
	slices.Sort(inv.OrgDomains)
	for _, c := range p.connectors {
		inv.Connectors = append(inv.Connectors, c.name)
	}
	slices.Sort(inv.Connectors)
	inv.Tenants = slices.Sorted(maps.Keys(p.tenants))
	inv.RefusesAllMail = p.org.len() == 0
	return inv
}
