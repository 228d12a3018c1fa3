package policy

import (
	"fmt"
	"net/netip"
)

// exchangeOnlineNetworks returns Microsoft 365 endpoint set 10 (Exchange Online Protection,
// TCP 25), the addresses every tenant's outbound mail comes from (office-365-worldwide-endpoints,
// see shared/notes/exchange.md §2.1). A fresh slice each call: no package state.
func exchangeOnlineNetworks() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{"40.92.0.0/15", "40.107.0.0/16", "52.100.0.0/14", "104.47.0.0/17",
		"40.95.0.0/16", "2a01:111:f400::/48", "2a01:111:f403::/48"} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// collectWarnings lists what a valid configuration still should make an admin look twice at.
func (p *Policy) collectWarnings(cfg Config) []string {
	var w []string
	eop := exchangeOnlineNetworks()
	used := map[string]bool{}
	for i, cn := range p.connectors {
		used[cn.tenant.name] = true
		c := cfg.Connectors[i]
		if len(c.DaemonNames)+len(c.CertSubjects)+len(c.CertIssuers)+len(c.SASLLogins) > 0 {
			continue
		}
		for _, n := range cn.nets {
			if overlapsAny(n, eop) {
				w = append(w, fmt.Sprintf("connector %q is recognised by networks alone, and %s holds Exchange Online "+
					"addresses that every Microsoft 365 customer sends from: all their mail will be taken for tenant %q's, "+
					"and as forwarded mail passes (allow_foreign_from), any of them could relay through this gateway; "+
					"add daemon_names or cert_subjects",
					cn.name, n, cn.tenant.name))
				break
			}
		}
	}
	w = append(w, p.forwardingWarnings()...)
	orgDomains := len(cfg.Organization.Domains) + len(cfg.Domains)
	for _, t := range cfg.Tenants {
		orgDomains += len(t.SenderDomains)
		if !used[t.Name] {
			w = append(w, fmt.Sprintf("tenant %q is not used by any connector", t.Name))
		}
	}
	if orgDomains == 0 {
		w = append(w, "no organization domains are configured ([organization] domains, tenant sender_domains, "+
			"[[domain]]): relay protection refuses every recipient of Internet mail with 554 5.7.1 until you add them")
	}
	return w
}

// overlapsAny reports whether n shares an address with any of list.
func overlapsAny(n netip.Prefix, list []netip.Prefix) bool {
	for _, l := range list {
		if n.Overlaps(l) {
			return true
		}
	}
	return false
}
