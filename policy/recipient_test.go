package policy

import "testing"

type rcptCase struct {
	name     string
	class    string
	rcpt     string
	resolved bool
	now      string // RFC 3339; default outside every cutover window
	action   Action
	code     int
	status   string
	reason   string // exact
	text     string // substring
	route    string
}

func runRcptCases(t *testing.T, p *Policy, tests []rcptCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl, now := caseSetup(t, tt.class, tt.now)
			got := p.Recipient(cl, tt.rcpt, tt.resolved, now)
			v := got.Verdict
			if !verdictIs(t, v, tt.action, tt.code, tt.status, tt.reason, tt.text) || got.Route != tt.route {
				t.Errorf("Recipient(%q) = %v text %q route %q\nwant %v %d %s (%s) text ~%q route %q",
					tt.rcpt, v, v.Text, got.Route, tt.action, tt.code, tt.status, tt.reason, tt.text, tt.route)
			}
		})
	}
}

func TestRecipientRelayProtection(t *testing.T) {
	p := load(t, "two-tenants.toml")
	denied := func(name, rcpt, reason string) rcptCase {
		return rcptCase{name: name, class: "internet", rcpt: rcpt, action: Reject, code: 554, status: "5.7.1",
			reason: reason, text: "relay access denied"}
	}
	runRcptCases(t, p, []rcptCase{
		{name: "organization domain, resolved", class: "internet", rcpt: "john@contoso.com", resolved: true},
		{name: "tenant sender domain", class: "internet", rcpt: "john@tenanta.contoso.com"},
		{name: "tenant sender domain, IDN U-label in config, A-label in message", class: "internet", rcpt: "anna@xn--bcher-kva.example"},
		{name: "tenant sender domain pattern", class: "internet", rcpt: "x@lab.sub.contoso.com"},
		{name: "[[domain]] name", class: "internet", rcpt: "x@partner.contoso.com"},
		{name: "no domain (RCPT TO:<postmaster>)", class: "internet", rcpt: "postmaster"},
		denied("outside domain", "x@fabrikam.com", "relay-denied: fabrikam.com"),
		denied("outside domain in angle brackets", "<x@Fabrikam.COM>", "relay-denied: fabrikam.com"),
		denied("subdomain of an organisation domain is not implied", "x@mail.contoso.com", "relay-denied: mail.contoso.com"),
		denied("routing domain is not an organisation domain", "x@live.contoso.edu", "relay-denied: live.contoso.edu"),
		denied("address literal", "x@[192.0.2.1]", "relay-denied: [192.0.2.1]"),
		denied("quoted @ in local part", `"x@fabrikam.com"@contoso.com`, "relay-denied: routing in local part"),
		denied("percent hack", "x%fabrikam.com@contoso.com", "relay-denied: routing in local part"),
		denied("bang path", "fabrikam.com!x@contoso.com", "relay-denied: routing in local part"),
		{name: "connector mail may go anywhere", class: "a", rcpt: "x@fabrikam.com"},
		{name: "connector mail with odd local part", class: "a", rcpt: "x%y@fabrikam.com"},
	})
}

func TestRecipientSharedDomains(t *testing.T) {
	p := load(t, "two-tenants.toml")
	unknown := func(name, class, rcpt string) rcptCase {
		return rcptCase{name: name, class: class, rcpt: rcpt, action: Reject, code: 550, status: "5.1.1",
			reason: "unknown-recipient: contoso.com", text: "unknown in the shared domain contoso.com"}
	}
	runRcptCases(t, p, []rcptCase{
		unknown("authoritative, unresolved", "internet", "nobody@contoso.com"),
		unknown("authoritative, mixed case and trailing dot", "internet", "Nobody@CONTOSO.COM."),
		unknown("authoritative for hairpin mail too", "a", "nobody@contoso.com"),
		{name: "authoritative, resolved", class: "internet", rcpt: "john@contoso.com", resolved: true},
		{name: "route keeps the local part's bytes", class: "internet", rcpt: "Jane.Doe+x@Contoso.EDU", route: "Jane.Doe+x@live.contoso.edu"},
		{name: "route for hairpin mail", class: "b", rcpt: "jane@contoso.edu", route: "jane@live.contoso.edu"},
		{name: "route, resolved", class: "internet", rcpt: "jane@contoso.edu", resolved: true},
		{name: "route, kept", class: "internet", rcpt: "dean@contoso.edu"},
		{name: "route, kept (case-insensitive both ways)", class: "internet", rcpt: "registrar@contoso.edu"},
		{name: "route, kept address with extension and no delimiter", class: "internet", rcpt: "dean+x@contoso.edu", route: "dean+x@live.contoso.edu"},
		{name: "pass", class: "internet", rcpt: "nobody@partner.contoso.com"},
		{name: "not a shared domain", class: "internet", rcpt: "nobody@tenanta.contoso.com"},
	})
	pd := load(t, "two-tenants.toml", func(c *Config) { c.RecipientDelimiter = "+" })
	runRcptCases(t, pd, []rcptCase{
		{name: "route, kept address with extension", class: "internet", rcpt: "Dean+x@contoso.edu"},
	})
}

func TestRecipientCutover(t *testing.T) {
	p := load(t, "two-tenants.toml")
	in := "2026-11-23T23:00:00Z"
	deferred := func(name, class, rcpt, now, match, text string) rcptCase {
		return rcptCase{name: name, class: class, rcpt: rcpt, now: now, action: Tempfail, code: 451, status: "4.7.1",
			reason: "cutover-defer: " + match, text: text}
	}
	runRcptCases(t, p, []rcptCase{
		deferred("domain defer in window", "internet", "mary@TenantB.contoso.com", in, "tenantb.contoso.com",
			"Mailbox moving to the new tenant, please try again later"),
		deferred("domain defer at the start instant", "internet", "mary@tenantb.contoso.com", "2026-11-23T20:00:00Z", "tenantb.contoso.com", "Mailbox moving"),
		{name: "domain defer ends at the end instant", class: "internet", rcpt: "mary@tenantb.contoso.com", now: "2026-11-24T08:00:00Z"},
		{name: "domain defer before the window", class: "internet", rcpt: "mary@tenantb.contoso.com", now: "2026-11-23T19:00:00Z"},
		deferred("defer applies to connector mail too", "a", "mary@tenantb.contoso.com", in, "tenantb.contoso.com", "Mailbox moving"),
		{name: "address hold beats domain defer (hold is decided per message)", class: "internet", rcpt: "ceo@tenantb.contoso.com", now: in},
		deferred("address hold before its window leaves the domain defer", "internet", "ceo@tenantb.contoso.com", "2026-11-23T21:00:00Z",
			"tenantb.contoso.com", "Mailbox moving"),
		deferred("exact domain defer with open start and default text", "internet", "x@vip.sub.contoso.com", "2020-01-01T00:00:00Z",
			"vip.sub.contoso.com", "mailbox is being moved, please try again later"),
		{name: "pattern hold is not a defer", class: "internet", rcpt: "x@lab.sub.contoso.com", now: in},
		deferred("address defer beats the authoritative 5.1.1", "internet", "moving@contoso.com", "", "moving@contoso.com",
			"This mailbox is moving; try again later"),
		{name: "relay protection comes before cutover", class: "internet", rcpt: "x@fabrikam.com", now: in,
			action: Reject, code: 554, status: "5.7.1", reason: "relay-denied: fabrikam.com", text: "relay access denied"},
	})
}
