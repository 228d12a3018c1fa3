package policy

import (
	"fmt"
	"strings"
)

// forwarded reports whether the comparison form d of an outbound sender address's domain is outside
// the organisation, which on a tenant's connector means forwarded mail: a Microsoft 365 user's
// forwarding rule sends the message out with its original From (bob@fabrikam.example), and,
// since Exchange Online does not apply SRS to mail it routes to an on-premises server, often
// with the original envelope sender too. Such an address passes tenant attribution: refusing
// it bounces the original sender's message. Never forwarded mail: a domain at or below an
// organisation domain the tenant does not own (that is spoofing another tenant, or a name the
// organisation controls), and a domain that is not a valid domain name. The gateway is not in
// the original sender's SPF, so the envelope sender wants SRS (postfix-examples/forwarding
// does it with postsrsd).
func (p *Policy) forwarded(d string) bool {
	if d == "" { // not a valid domain name (domainOf leaves its comparison form empty)
		return false
	}
	for s := d; ; {
		if _, ok := p.org.get(s, false); ok {
			return false
		}
		if _, ok := p.org.get(s, true); ok {
			return false
		}
		i := strings.IndexByte(s, '.')
		if i < 0 {
			return true
		}
		s = s[i+1:]
	}
}

// exchangeOnlineCertName is the name in the client certificate Exchange Online presents for
// every Microsoft 365 customer.
const exchangeOnlineCertName = "mail.protection.outlook.com"

// forwardingWarnings names the connectors that take forwarded mail on Exchange Online's shared
// certificate with nothing to tie a message to the tenant: any Microsoft 365 customer can point
// a connector at the listener, and mail from its own domain then passes as forwarded mail.
func (p *Policy) forwardingWarnings() []string {
	var w []string
	for _, cn := range p.connectors {
		if !cn.tenant.forwarding || cn.tenant.ids != nil {
			continue
		}
		for _, s := range cn.subjects {
			if s == exchangeOnlineCertName {
				w = append(w, fmt.Sprintf("connector %q takes forwarded mail (tenant %q: allow_foreign_from, on by default) "+
					"on Exchange Online's certificate, which every Microsoft 365 customer presents: any of them could send "+
					"from its own domains through this gateway; set tenant_ids if every message carries "+
					"X-MS-Exchange-CrossTenant-Id, or allow_foreign_from = false if the tenant's users do not forward",
					cn.name, cn.tenant.name))
				break
			}
		}
	}
	return w
}
