package policy

import "testing"

// TestMessageSenderFields: From, Sender and Resent-From are judged as read once by
// rewrite.ReadAddressFields; a field that cannot be read is refused, not guessed at.
func TestMessageSenderFields(t *testing.T) {
	p := load(t, "two-tenants.toml")
	const john = "john@tenanta.contoso.com"
	withFields := func(lines ...string) Message {
		m := msgA(john)
		m.Fields = fields(lines...)
		return m
	}
	refused := func(name string, m Message, reason, text string) messageCase {
		return messageCase{name: name, class: "a", msg: m, action: Reject, code: 550, status: "5.7.1", reason: reason, text: text}
	}
	runMessageCases(t, p, []messageCase{
		// Well-formed mail passes.
		{name: "display name, comment and encoded word", class: "a", rewrite: true, msg: withFields(
			`From: "Smith, John" <john@tenanta.contoso.com> (work)`,
			"Sender: =?utf-8?q?J=C3=B6rg?= <John@TenantA.contoso.com>",
			"Resent-From: team: john@tenanta.contoso.com, anna@bücher.example;")},
		{name: "folded From", class: "a", rewrite: true, msg: withFields("From: John Smith\r\n <john@tenanta.contoso.com>")},
		{name: "forwarded: Resent-From outside the organisation", class: "a", rewrite: true,
			msg: withFields("From: "+john, "Resent-From: alice@gmail.com")},
		{name: "Sender outside the organisation", class: "a", rewrite: true, msg: withFields("From: "+john, "Sender: list@lists.example.org")},
		{name: "null From <> has no address", class: "a", rewrite: true, msg: withFields("From: <>")},

		// The walk-around and its variants.
		refused("another tenant's address before an unclosed comment",
			withFields("From: <mary@tenantb.contoso.com>, (x <john@tenanta.contoso.com>"), "from-unparsable", "From header cannot be parsed"),
		refused("unclosed quote", withFields(`From: "mary@tenantb.contoso.com <john@tenanta.contoso.com>`), "from-unparsable", "From header"),
		refused("unclosed comment", withFields("From: john@tenanta.contoso.com (mary@tenantb.contoso.com"), "from-unparsable", "From header"),
		refused("group with the tenant's address last", withFields("From: team: mary@tenantb.contoso.com, john@tenanta.contoso.com;"),
			"from-domain: tenantb.contoso.com", "From header domain tenantb.contoso.com is not allowed for tenant tenant-a"),
		refused("bare CR in the value", withFields("From: mary@tenantb.contoso.com\r, john@tenanta.contoso.com"), "from-unparsable", "From header"),
		refused("second From field of another tenant", withFields("From: "+john, "From: mary@tenantb.contoso.com"),
			"from-domain: tenantb.contoso.com", "From header domain"),
		refused("Sender of another tenant", withFields("From: "+john, "Sender: Mary <mary@TenantB.contoso.com>"),
			"sender-header-domain: tenantb.contoso.com", "Sender header domain tenantb.contoso.com is not allowed for tenant tenant-a"),
		refused("Sender in the shared domain", withFields("From: "+john, "sender: ceo@contoso.com"),
			"sender-header-domain: contoso.com", "Sender header domain contoso.com"),
		refused("Sender that cannot be parsed", withFields("From: "+john, "Sender: <mary@tenantb.contoso.com"),
			"sender-header-unparsable", "Sender header cannot be parsed"),
		refused("Resent-From of another tenant", withFields("From: "+john, "Resent-From: mary@tenantb.contoso.com"),
			"resent-from-domain: tenantb.contoso.com", "Resent-From header domain tenantb.contoso.com"),
		refused("Resent-From that cannot be parsed", withFields("From: "+john, "RESENT-FROM: john@tenanta.contoso.com,, ,\"x"),
			"resent-from-unparsable", "Resent-From header cannot be parsed"),
		refused("bounce with a From that cannot be parsed", func() Message { m := withFields("From: <x@y"); m.From = ""; return m }(),
			"from-unparsable", "From header"),

		// on_failure applies; inbound mail is not judged.
		{name: "tempfail connector", class: "b", msg: Message{From: "mary@tenantb.contoso.com",
			Fields: fields("From: <john@tenanta.contoso.com>, (x <mary@tenantb.contoso.com>")},
			action: Tempfail, code: 451, status: "4.7.1", reason: "from-unparsable", text: "From header cannot be parsed"},
		{name: "inbound unparsable From passes", class: "internet",
			msg: Message{From: "x@example.net", Fields: fields("From: <mary@tenantb.contoso.com>, (x")}},
		{name: "To and Cc are not judged", class: "a", rewrite: true, msg: withFields("From: "+john, "To: mary@tenantb.contoso.com", "Cc: (")},
	})
}
