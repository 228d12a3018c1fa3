package policy

import "github.com/edgerewrite/edgerewrite/rewrite"

// Policy is a validated, compiled Config. It is immutable and safe for concurrent use; a reload
// builds a new one with New.
type Policy struct {
	observe    bool
	delims     string
	connectors []*connector
	tenants    map[string]*tenant
	// owners maps each tenant sender domain (pattern) to the tenant that may send from it.
	owners domainMap[*tenant]
	// org holds the organisation's domains: [organization] domains, every tenant's
	// sender_domains and every [[domain]] name.
	org      domainMap[struct{}]
	shared   map[string]*sharedDomain
	cutovers cutoverIndex
	pilot    pilot
	warnings []string
}

// New validates cfg and compiles it. It returns every problem found, joined with errors.Join,
// each a *ConfigError naming the entry and key, e.g.
// `connector "tenant-b": tenant "tenant-c" is not defined`.
func New(cfg Config) (*Policy, error) {
	p := &Policy{
		observe: cfg.Observe,
		delims:  cfg.RecipientDelimiter,
		owners:  newDomainMap[*tenant](),
		org:     newDomainMap[struct{}](),
	}
	var ps problems
	p.compileTenants(cfg.Tenants, &ps)
	p.compileConnectors(cfg.Connectors, &ps)
	p.compileOrganization(cfg.Organization, &ps)
	p.compileDomains(cfg.Domains, &ps)
	p.compileCutovers(cfg.Cutovers, &ps)
	if err := ps.join(); err != nil {
		return nil, err
	}
	p.warnings = p.collectWarnings(cfg)
	return p, nil
}

// Warnings are things in a valid configuration an admin should look at, for `edgerewrite
// check` and the startup log: a connector recognised only by Exchange Online's shared networks,
// a tenant no connector uses.
func (p *Policy) Warnings() []string {
	return append([]string(nil), p.warnings...)
}

// IsOrgDomain reports whether domain, in any case or IDNA form, is one of the organisation's
// ([organization] domains, every tenant's sender_domains, every [[domain]]; patterns
// included): the domains inbound mail is accepted for. The rule-set check asks it about the
// external side of every rule.
func (p *Policy) IsOrgDomain(domain string) bool {
	d, err := rewrite.NormalizeDomain(domain)
	return err == nil && p.isOrgDomain(d)
}

// isOrgDomain reports whether the normalised domain d is one of the organisation's.
func (p *Policy) isOrgDomain(d string) bool {
	_, ok := p.org.lookup(d)
	return ok
}
