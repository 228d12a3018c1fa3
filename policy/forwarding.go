package policy

import "strings"

// forwarded reports whether the normalised domain d of an outbound sender address is outside
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
	if _, err := normDomain(d); err != nil {
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
