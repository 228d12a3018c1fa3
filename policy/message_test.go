package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/rewrite"
)

const tenantAID = "335836de-42ef-43a2-b145-348c2ee9ca5b"

// classes of two-tenants.toml by short name.
var testClasses = map[string]Class{
	"internet": {},
	"a":        {Connector: "tenant-a", Tenant: "tenant-a", Outbound: true},
	"b":        {Connector: "tenant-b", Tenant: "tenant-b", Outbound: true},
	"onprem":   {Connector: "onprem", Tenant: "onprem", Outbound: true, Observe: true},
}

// caseSetup returns a case's class by short name and its clock: now (RFC 3339) or a default
// outside every cutover window.
func caseSetup(t *testing.T, class, now string) (Class, time.Time) {
	t.Helper()
	at0 := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	if now != "" {
		at0 = at(t, now)
	}
	cl, ok := testClasses[class]
	if !ok {
		t.Fatalf("unknown class %q", class)
	}
	return cl, at0
}

// verdictIs reports whether v is the wanted verdict (text as a substring), and fails the test
// when its reply text could not go into SMFIR_REPLYCODE as is.
func verdictIs(t *testing.T, v Verdict, action Action, code int, status, reason, text string) bool {
	t.Helper()
	if strings.ContainsAny(v.Text, "\r\n%") {
		t.Errorf("reply text %q is not safe for SMFIR_REPLYCODE", v.Text)
	}
	return v.Action == action && v.Code == code && v.Status == status && v.Reason == reason && strings.Contains(v.Text, text)
}

type messageCase struct {
	name    string
	class   string
	msg     Message
	now     string // RFC 3339; default outside every cutover window
	action  Action
	code    int
	status  string
	reason  string // exact
	text    string // substring
	rewrite bool
}

func runMessageCases(t *testing.T, p *Policy, tests []messageCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl, now := caseSetup(t, tt.class, tt.now)
			got := p.Message(cl, tt.msg, now)
			v := got.Verdict
			if !verdictIs(t, v, tt.action, tt.code, tt.status, tt.reason, tt.text) || got.RewriteSender != tt.rewrite {
				t.Errorf("Message = %v text %q rewrite=%v\nwant %v %d %s (%s) text ~%q rewrite=%v",
					v, v.Text, got.RewriteSender, tt.action, tt.code, tt.status, tt.reason, tt.text, tt.rewrite)
			}
		})
	}
}

// msgA is a message of tenant A's with one From field per headerFrom value.
func msgA(from string, headerFrom ...string) Message {
	return Message{From: from, Rcpts: []string{"someone@example.net"}, Fields: fromFields(headerFrom...), CrossTenantIDs: []string{tenantAID}}
}

// fromFields reads one From field per value, as the daemon reads a message's fields.
func fromFields(values ...string) []rewrite.AddressField {
	var hs []rewrite.Header
	for _, v := range values {
		hs = append(hs, rewrite.Header{Name: "From", Value: " " + v})
	}
	return rewrite.ReadAddressFields(hs)
}

// fields reads the address fields of "Name: value" header lines.
func fields(lines ...string) []rewrite.AddressField {
	var hs []rewrite.Header
	for _, l := range lines {
		name, value, _ := strings.Cut(l, ":")
		hs = append(hs, rewrite.Header{Name: name, Value: value})
	}
	return rewrite.ReadAddressFields(hs)
}

func TestMessageAttribution(t *testing.T) {
	p := load(t, "two-tenants.toml")
	withIDs := func(m Message, ids ...string) Message { m.CrossTenantIDs = ids; return m }
	good := msgA("john@tenanta.contoso.com", "john@tenanta.contoso.com")
	runMessageCases(t, p, []messageCase{
		{name: "own domain", class: "a", msg: good, rewrite: true},
		{name: "mixed case and trailing dot", class: "a", msg: msgA("John@TenantA.Contoso.COM.", "JOHN@tenanta.CONTOSO.com"), rewrite: true},
		{name: "U-label in config, A-label in message", class: "a", msg: msgA("anna@xn--bcher-kva.example", "anna@XN--BCHER-KVA.example"), rewrite: true},
		{name: "U-label in config, U-label of other case in message", class: "a", msg: msgA("anna@BÜCHER.example", "Anna <anna@bücher.example>"), rewrite: true},
		{name: "A-label in config, U-label in message", class: "b", msg: Message{From: "x@fabríkam.example", Fields: fromFields("x@FABRÍKAM.example")}, rewrite: true},
		{name: "From as a whole mailbox", class: "a", msg: msgA("john@tenanta.contoso.com", `"Doe, John" <john@tenanta.contoso.com>`), rewrite: true},
		{name: "no From field: envelope alone", class: "a", msg: msgA("john@tenanta.contoso.com"), rewrite: true},

		// Spoofing through the same connector.
		{name: "tenant B's sender via tenant A's connector", class: "a", msg: msgA("mary@tenantb.contoso.com", "mary@tenantb.contoso.com"),
			action: Reject, code: 550, status: "5.7.1", reason: "sender-domain: tenantb.contoso.com",
			text: "sender domain tenantb.contoso.com is not allowed for tenant tenant-a"},
		{name: "tenant A's sender with tenant B's From", class: "a", msg: msgA("mary@tenanta.contoso.com", "mary@tenantb.contoso.com"),
			action: Reject, code: 550, status: "5.7.1", reason: "from-domain: tenantb.contoso.com"},
		{name: "own envelope, tenant B's From", class: "a", msg: msgA("john@tenanta.contoso.com", "boss@TenantB.contoso.com"),
			action: Reject, code: 550, status: "5.7.1", reason: "from-domain: tenantb.contoso.com", text: "From header domain tenantb.contoso.com"},
		{name: "own envelope, second From mailbox in another tenant's domain", class: "a",
			msg:    msgA("john@tenanta.contoso.com", "eve@gmail.com", "john@tenantb.contoso.com"),
			action: Reject, code: 550, status: "5.7.1", reason: "from-domain: tenantb.contoso.com"},
		{name: "subdomain of a shared domain is not outside the organisation", class: "a", msg: msgA("x@mail.contoso.com", "x@mail.contoso.com"),
			action: Reject, code: 550, status: "5.7.1", reason: "sender-domain: mail.contoso.com"},
		{name: "foreign envelope sender, From of another tenant", class: "a", msg: msgA("bob@fabrikam.example", "mary@tenantb.contoso.com"),
			action: Reject, code: 550, status: "5.7.1", reason: "from-domain: tenantb.contoso.com"},
		{name: "foreign envelope sender, From in the shared domain", class: "a", msg: msgA("bob@fabrikam.example", "ceo@contoso.com"),
			action: Reject, code: 550, status: "5.7.1", reason: "from-domain: contoso.com"},
		{name: "foreign From, envelope sender of another tenant", class: "a", msg: msgA("mary@tenantb.contoso.com", "bob@fabrikam.example"),
			action: Reject, code: 550, status: "5.7.1", reason: "sender-domain: tenantb.contoso.com"},

		// Forwarded mail: a tenant user's forwarding rule keeps the original From, and Exchange
		// Online often keeps the original envelope sender too (no SRS towards on-premises).
		{name: "forwarded: original envelope sender and From", class: "a", msg: msgA("bob@fabrikam.example", `Bob <bob@fabrikam.example>`), rewrite: true},
		{name: "forwarded: tenant's SRS envelope sender, original From", class: "a",
			msg: msgA("john+SRS=x1Y2z=AB=fabrikam.example=bob@tenanta.contoso.com", "bob@fabrikam.example"), rewrite: true},
		{name: "forwarded: tenant's plain envelope sender, original From", class: "a", msg: msgA("john@tenanta.contoso.com", "bob@fabrikam.example"), rewrite: true},
		{name: "forwarded: a look-alike of a tenant domain is just outside", class: "a", msg: msgA("anna@bucher.example", "anna@bucher.example"), rewrite: true},
		{name: "shared domain itself is not tenant A's", class: "a", msg: msgA("john@contoso.com", "john@contoso.com"),
			action: Reject, code: 550, status: "5.7.1", reason: "sender-domain: contoso.com"},
		{name: "subdomains are not implied", class: "a", msg: msgA("x@mail.tenanta.contoso.com", "x@mail.tenanta.contoso.com"),
			action: Reject, code: 550, status: "5.7.1", reason: "sender-domain: mail.tenanta.contoso.com"},
		{name: "sender without a domain", class: "a", msg: msgA("john", "john@tenanta.contoso.com"),
			action: Reject, code: 550, status: "5.7.1", reason: "sender-domain: none", text: "<john> has no domain"},
		{name: "From without a domain", class: "a", msg: msgA("john@tenanta.contoso.com", "<john>"),
			action: Reject, code: 550, status: "5.7.1", reason: "from-unparsable", text: "From header cannot be parsed"},
		{name: "hostile bytes are not echoed", class: "a", msg: msgA("x@evil%\r\n.example", "x@tenanta.contoso.com"),
			action: Reject, code: 550, status: "5.7.1", reason: "sender-domain: evil???.example", text: "sender domain evil???.example"},
		{name: "tempfail connector", class: "b", msg: Message{From: "john@tenanta.contoso.com"},
			action: Tempfail, code: 451, status: "4.7.1", reason: "sender-domain: tenanta.contoso.com", text: "not allowed for tenant tenant-b"},

		// allow_foreign_from = false (onprem): only its own domains, except a bounce's From.
		{name: "forwarding off: original envelope sender refused", class: "onprem", msg: Message{From: "bob@fabrikam.example", Fields: fromFields("bob@fabrikam.example")},
			action: Reject, code: 550, status: "5.7.1", reason: "sender-domain: fabrikam.example"},
		{name: "forwarding off: original From refused", class: "onprem", msg: Message{From: "x@deep.tenantb.sub.contoso.com", Fields: fromFields("bob@fabrikam.example")},
			action: Reject, code: 550, status: "5.7.1", reason: "from-domain: fabrikam.example"},
		{name: "forwarding off: a bounce's From may be outside", class: "onprem", msg: Message{Fields: fromFields("MAILER-DAEMON@mx.fabrikam.example")}, rewrite: true},

		// Tenant B sets allow_foreign_from = true, the default.
		{name: "SRS-forwarded mail with foreign From", class: "b",
			msg: Message{From: "bounces+SRS=x1Y2z=AB@tenantb.contoso.com", Fields: fromFields("alice@gmail.com")}, rewrite: true},
		{name: "another tenant's From refused", class: "b",
			msg:    Message{From: "mary@tenantb.contoso.com", Fields: fromFields("john@tenanta.contoso.com")},
			action: Tempfail, code: 451, status: "4.7.1", reason: "from-domain: tenanta.contoso.com"},
		{name: "an organisation domain not the tenant's refused", class: "b",
			msg:    Message{From: "mary@tenantb.contoso.com", Fields: fromFields("ceo@contoso.com")},
			action: Tempfail, code: 451, status: "4.7.1", reason: "from-domain: contoso.com"},

		// Domain patterns: the most specific claim owns a domain.
		{name: "pattern covers a subdomain", class: "b", msg: Message{From: "x@a.b.sub.contoso.com"}, rewrite: true},
		{name: "pattern covers its own domain", class: "b", msg: Message{From: "x@sub.contoso.com"}, rewrite: true},
		{name: "exact claim of another tenant beats the pattern", class: "b", msg: Message{From: "x@deep.tenantb.sub.contoso.com"},
			action: Tempfail, code: 451, status: "4.7.1", reason: "sender-domain: deep.tenantb.sub.contoso.com"},
		{name: "the exact claim's owner", class: "onprem", msg: Message{From: "x@deep.tenantb.sub.contoso.com"}, rewrite: true},

		// Null sender (bounces).
		{name: "bounce from Exchange Online", class: "a", msg: msgA("", "MAILER-DAEMON@NAM11-BN8-obe.prod.outlook.com"), rewrite: true},
		{name: "bounce from the tenant's postmaster", class: "a", msg: msgA("<>", "postmaster@tenanta.contoso.com"), rewrite: true},
		{name: "bounce from the onmicrosoft.com domain", class: "a", msg: msgA("", "Microsoft Outlook <postmaster@tenanta.onmicrosoft.com>"), rewrite: true},
		{name: "bounce with a bare MAILER-DAEMON (not an address)", class: "a", msg: msgA("", "MAILER-DAEMON"),
			action: Reject, code: 550, status: "5.7.1", reason: "from-unparsable", text: "From header cannot be parsed"},
		{name: "bounce without From", class: "a", msg: msgA(""), rewrite: true},
		{name: "null sender claiming tenant B's From", class: "a", msg: msgA("", "ceo@tenantb.contoso.com"),
			action: Reject, code: 550, status: "5.7.1", reason: "from-domain: tenantb.contoso.com"},
		{name: "null sender claiming the shared domain", class: "a", msg: msgA("", "ceo@Contoso.com"),
			action: Reject, code: 550, status: "5.7.1", reason: "from-domain: contoso.com"},

		// X-MS-Exchange-CrossTenant-Id (configured for tenant-a only).
		{name: "tenant ID in upper case and braces", class: "a", msg: withIDs(good, "{335836DE-42EF-43A2-B145-348C2EE9CA5B}"), rewrite: true},
		{name: "tenant ID header doubled with the same value", class: "a", msg: withIDs(good, tenantAID, " "+strings.ToUpper(tenantAID)), rewrite: true},
		{name: "no tenant ID", class: "a", msg: withIDs(good),
			action: Reject, code: 550, status: "5.7.1", reason: "tenant-id-missing", text: "no X-MS-Exchange-CrossTenant-Id"},
		{name: "forged tenant ID", class: "a", msg: withIDs(good, "aaaaaaaa-42ef-43a2-b145-348c2ee9ca5b"),
			action: Reject, code: 550, status: "5.7.1", reason: "tenant-id-mismatch: aaaaaaaa-42ef-43a2-b145-348c2ee9ca5b"},
		{name: "forged tenant ID beside the real one", class: "a", msg: withIDs(good, "aaaaaaaa-42ef-43a2-b145-348c2ee9ca5b", tenantAID),
			action: Reject, code: 550, status: "5.7.1", reason: "tenant-id-multiple: 2", text: "2 different X-MS-Exchange-CrossTenant-Id"},
		{name: "empty tenant ID beside the real one", class: "a", msg: withIDs(good, tenantAID, ""),
			action: Reject, code: 550, status: "5.7.1", reason: "tenant-id-multiple: 2"},
		{name: "bounce with the right tenant ID", class: "a", msg: withIDs(msgA("", "postmaster@tenanta.contoso.com"), tenantAID), rewrite: true},
		{name: "tenant ID check off for tenant-b", class: "b", msg: Message{From: "mary@tenantb.contoso.com", CrossTenantIDs: []string{"x", "y"}}, rewrite: true},

		// Internet mail is not attributed and never sender-rewritten.
		{name: "Internet mail with any sender", class: "internet", msg: Message{From: "eve@tenanta.contoso.com", Fields: fromFields("eve@tenanta.contoso.com")}},
	})
}

func TestMessageHold(t *testing.T) {
	p := load(t, "two-tenants.toml")
	in := "2026-11-23T23:00:00Z"
	to := func(from string, rcpts ...string) Message {
		return Message{From: from, Rcpts: rcpts, CrossTenantIDs: []string{tenantAID}}
	}
	runMessageCases(t, p, []messageCase{
		{name: "address hold in window", class: "internet", now: in, msg: to("x@example.net", "a@tenantb.contoso.com", "CEO@tenantb.contoso.com"),
			action: Hold, reason: "cutover-hold: ceo@tenantb.contoso.com", text: "cutover ceo@tenantb.contoso.com: held while the mailbox moves"},
		{name: "address hold at the start instant", class: "internet", now: "2026-11-23T22:00:00Z", msg: to("x@example.net", "ceo@tenantb.contoso.com"),
			action: Hold, reason: "cutover-hold: ceo@tenantb.contoso.com"},
		{name: "address hold ends at end instant", class: "internet", now: "2026-11-24T08:00:00Z", msg: to("x@example.net", "ceo@tenantb.contoso.com")},
		{name: "address hold before its window", class: "internet", now: "2026-11-23T21:59:59Z", msg: to("x@example.net", "ceo@tenantb.contoso.com")},
		{name: "domain defer is not a hold", class: "internet", now: in, msg: to("x@example.net", "mary@tenantb.contoso.com")},
		{name: "extension without recipient_delimiter", class: "internet", now: in, msg: to("x@example.net", "ceo+news@tenantb.contoso.com")},
		{name: "open-ended pattern hold", class: "internet", now: "2027-06-01T00:00:00Z", msg: to("x@example.net", "x@lab.sub.contoso.com"),
			action: Hold, reason: "cutover-hold: *.sub.contoso.com", text: "cutover *.sub.contoso.com: Domain moving"},
		{name: "exact defer domain beats hold pattern", class: "internet", now: in, msg: to("x@example.net", "x@vip.sub.contoso.com")},
		{name: "hold pattern again after the exact defer ends", class: "internet", now: "2026-11-24T08:00:00Z", msg: to("x@example.net", "x@vip.sub.contoso.com"),
			action: Hold, reason: "cutover-hold: *.sub.contoso.com"},
		{name: "hairpin hold still rewrites the sender", class: "a", now: in, msg: to("john@tenanta.contoso.com", "ceo@tenantb.contoso.com"),
			action: Hold, reason: "cutover-hold: ceo@tenantb.contoso.com", rewrite: true},
		{name: "failed attribution beats hold", class: "a", now: in, msg: to("eve@tenantb.contoso.com", "ceo@tenantb.contoso.com"),
			action: Reject, code: 550, status: "5.7.1", reason: "sender-domain: tenantb.contoso.com"},
	})
	pd := load(t, "two-tenants.toml", func(c *Config) { c.RecipientDelimiter = "+-" })
	runMessageCases(t, pd, []messageCase{
		{name: "extension with recipient_delimiter", class: "internet", now: in, msg: to("x@example.net", "ceo+news@tenantb.contoso.com"),
			action: Hold, reason: "cutover-hold: ceo@tenantb.contoso.com"},
		{name: "second delimiter byte", class: "internet", now: in, msg: to("x@example.net", "ceo-news@tenantb.contoso.com"),
			action: Hold, reason: "cutover-hold: ceo@tenantb.contoso.com"},
	})
}

func TestMessagePilot(t *testing.T) {
	p := load(t, "two-tenants.toml", func(c *Config) {
		c.RecipientDelimiter = "+"
		c.Organization.PilotSenders = []string{"john@tenanta.contoso.com", "@Bücher.example", "@*.sub.contoso.com"}
	})
	runMessageCases(t, p, []messageCase{
		{name: "listed address", class: "a", msg: msgA("john@tenanta.contoso.com"), rewrite: true},
		{name: "listed address, other case", class: "a", msg: msgA("JOHN@TenantA.contoso.com"), rewrite: true},
		{name: "listed address with extension", class: "a", msg: msgA("john+SRS=ab=cd@tenanta.contoso.com"), rewrite: true},
		{name: "other sender of the same domain", class: "a", msg: msgA("mary@tenanta.contoso.com")},
		{name: "listed domain, A-label in message", class: "a", msg: msgA("anna@xn--bcher-kva.example"), rewrite: true},
		{name: "listed domain pattern", class: "b", msg: Message{From: "x@lab.sub.contoso.com"}, rewrite: true},
		{name: "null sender, listed From", class: "a", msg: msgA("", "john@tenanta.contoso.com"), rewrite: true},
		{name: "null sender, unlisted From", class: "a", msg: msgA("", "postmaster@tenanta.contoso.com")},
		{name: "null sender, no From", class: "a", msg: msgA("")},
		{name: "Internet mail is never sender-rewritten", class: "internet", msg: Message{From: "john@tenanta.contoso.com"}},
	})
}
