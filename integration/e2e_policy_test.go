package integration

import (
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// e2eTenantAID is tenant A's Microsoft 365 tenant ID in testdata/e2e/policy.toml.
const e2eTenantAID = "aaaaaaaa-1111-2222-3333-444444444444"

// TestE2EPolicy shows the SMTP replies a client of a real Postfix sees from edgerewrite's policy:
// tenant attribution by daemon name and verified client certificate, the tenant ID
// check, relay protection, an authoritative shared domain, cutover defer and hold in and out of
// their windows, and observe mode (a second edgerewrite with observe = true behind its own
// listeners "smtpd-observe" and "smtpd-tenants-observe").
func TestE2EPolicy(t *testing.T) {
	harness.RequirePostfix(t)
	bin := harness.MustBuildEdgerewrite(t)
	dir := e2eDir(t)
	ca, err := harness.NewCA(dir, "edgerewrite e2e CA")
	if err != nil {
		t.Fatal(err)
	}
	server, err := ca.Server("smtpd")
	if err != nil {
		t.Fatal(err)
	}
	certA, err := ca.Client("tenanta", "relay.tenanta.contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	certB, err := ca.Client("tenantb", "relay.tenantb.contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	stamp := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	policy := strings.NewReplacer(
		"@IN_START@", stamp(-time.Hour), "@IN_END@", stamp(time.Hour),
		"@PAST_START@", stamp(-48*time.Hour), "@PAST_END@", stamp(-24*time.Hour),
		"@FUTURE_START@", stamp(24*time.Hour), "@FUTURE_END@", stamp(48*time.Hour),
	).Replace(e2eRead(t, "policy.toml"))
	enforce := e2eStartDaemon(t, bin, dir, "policy", "", "", policy, "policy-rules")
	observe := e2eStartDaemon(t, bin, dir, "observe", "", "observe = true", policy, "policy-rules")
	sink := harness.NewSink(t)
	serverTLS := &harness.ServerTLS{CertFile: server.CertFile, KeyFile: server.KeyFile, CAFile: ca.CertFile}
	pf := harness.NewPostfix(t, harness.PostfixOptions{
		Name:    "e2e-policy",
		RelayTo: sink.Addr(),
		Services: []harness.Service{
			{Name: "smtpd-tenants", TLS: serverTLS},
			{Name: "smtpd-observe", Args: []string{"smtpd_milters=" + observe.Listen}},
			{Name: "smtpd-tenants-observe", TLS: serverTLS, Args: []string{"smtpd_milters=" + observe.Listen}},
		},
		Milters:             []string{enforce.Listen},
		MilterDefaultAction: "tempfail",
	})
	internet, tenants := pf.Addr(), pf.ServiceAddr("smtpd-tenants")
	tlsA, tlsB := ca.ClientTLS(certA, ""), ca.ClientTLS(certB, "")

	n := 0
	// env makes an envelope whose message has a unique Message-ID (returned) and the headers.
	env := func(cfg *tls.Config, from string, rcpts []harness.RcptTo, headers ...string) (harness.Envelope, string) {
		n++
		id := fmt.Sprintf("<policy-%d@e2e.test>", n)
		h := append([]string{"Subject: policy", "Date: Mon, 23 Nov 2026 10:00:00 +0000", "Message-ID: " + id}, headers...)
		return harness.Envelope{LocalAddr: "127.0.0.7", TLS: cfg, From: from, Rcpts: rcpts,
			Data: harness.BuildMessage(h, "policy\n")}, id
	}
	send := func(t *testing.T, addr string, e harness.Envelope) *harness.Result {
		t.Helper()
		res, err := harness.Send(addr, e)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	to := harness.Rcpts

	t.Run("tenant A with its own sender and tenant ID is accepted and rewritten", func(t *testing.T) {
		e, id := env(tlsA, "john@tenanta.contoso.com", to("partner@example.org"),
			"From: John <john@tenanta.contoso.com>", "To: partner@example.org",
			"X-MS-Exchange-CrossTenant-Id: "+e2eTenantAID)
		harness.MustSend(t, tenants, e)
		m := e2eWaitMessage(t, sink, id)
		if m.From != "john@contoso.com" || harness.Unfold(m.Header().Get("From")) != "John <john@contoso.com>" {
			t.Errorf("MAIL FROM <%s>, From %q; want john@contoso.com in both", m.From, m.Header().Get("From"))
		}
	})

	refusals := []struct {
		name    string
		cfg     *tls.Config
		from    string
		headers []string
		text    string
	}{
		{"tenant A's connector with a tenant-B sender", tlsA, "bob@tenantb.contoso.com",
			[]string{"From: bob@tenantb.contoso.com", "X-MS-Exchange-CrossTenant-Id: " + e2eTenantAID},
			"sender domain tenantb.contoso.com is not allowed for tenant tenant-a"},
		{"tenant A's connector with a tenant-B From header", tlsA, "john@tenanta.contoso.com",
			[]string{"From: bob@tenantb.contoso.com", "X-MS-Exchange-CrossTenant-Id: " + e2eTenantAID},
			"From header domain tenantb.contoso.com is not allowed for tenant tenant-a"},
		{"a wrong CrossTenant-Id", tlsA, "john@tenanta.contoso.com",
			[]string{"From: john@tenanta.contoso.com", "X-MS-Exchange-CrossTenant-Id: bbbbbbbb-1111-2222-3333-444444444444"},
			"X-MS-Exchange-CrossTenant-Id bbbbbbbb-1111-2222-3333-444444444444 is not a tenant ID of tenant tenant-a"},
		{"two different CrossTenant-Id values", tlsA, "john@tenanta.contoso.com",
			[]string{"From: john@tenanta.contoso.com", "X-MS-Exchange-CrossTenant-Id: " + e2eTenantAID,
				"X-MS-Exchange-CrossTenant-Id: bbbbbbbb-1111-2222-3333-444444444444"},
			"message carries 2 different X-MS-Exchange-CrossTenant-Id values"},
		{"tenant B's connector with a tenant-A sender", tlsB, "john@tenanta.contoso.com",
			[]string{"From: john@tenanta.contoso.com"},
			"sender domain tenanta.contoso.com is not allowed for tenant tenant-b"},
		// A From that mail readers show as another tenant's must not pass because it does not
		// parse: the header is read once, and what cannot be read is refused.
		{"a From walking around the parser with an unclosed comment", tlsA, "john@tenanta.contoso.com",
			[]string{"From: <mary@tenantb.contoso.com>, (x <john@tenanta.contoso.com>", "X-MS-Exchange-CrossTenant-Id: " + e2eTenantAID},
			"From header cannot be parsed as addresses; tenant tenant-a may send only from its own domains"},
		{"a From with an unclosed quote", tlsA, "john@tenanta.contoso.com",
			[]string{`From: "Mary <mary@tenantb.contoso.com>, <john@tenanta.contoso.com>`, "X-MS-Exchange-CrossTenant-Id: " + e2eTenantAID},
			"From header cannot be parsed as addresses; tenant tenant-a may send only from its own domains"},
		{"a From group with the tenant's address last", tlsA, "john@tenanta.contoso.com",
			[]string{"From: Team: mary@tenantb.contoso.com, john@tenanta.contoso.com;", "X-MS-Exchange-CrossTenant-Id: " + e2eTenantAID},
			"From header domain tenantb.contoso.com is not allowed for tenant tenant-a"},
		{"a From with a bare CR", tlsA, "john@tenanta.contoso.com",
			[]string{"From: mary@tenantb.contoso.com\r<john@tenanta.contoso.com>", "X-MS-Exchange-CrossTenant-Id: " + e2eTenantAID},
			"From header cannot be parsed as addresses; tenant tenant-a may send only from its own domains"},
		{"a Sender of another tenant", tlsA, "john@tenanta.contoso.com",
			[]string{"From: john@tenanta.contoso.com", "Sender: mary@tenantb.contoso.com", "X-MS-Exchange-CrossTenant-Id: " + e2eTenantAID},
			"Sender header domain tenantb.contoso.com is not allowed for tenant tenant-a"},
		{"a Resent-From of another tenant", tlsA, "john@tenanta.contoso.com",
			[]string{"From: john@tenanta.contoso.com", "Resent-From: mary@tenantb.contoso.com", "X-MS-Exchange-CrossTenant-Id: " + e2eTenantAID},
			"Resent-From header domain tenantb.contoso.com is not allowed for tenant tenant-a"},
	}
	var refusedIDs []string
	for _, tc := range refusals {
		t.Run(tc.name+" is refused with 5.7.1 after DATA", func(t *testing.T) {
			e, id := env(tc.cfg, tc.from, to("partner@example.org"), append(tc.headers, "To: partner@example.org")...)
			refusedIDs = append(refusedIDs, id)
			res := send(t, tenants, e)
			if res.Mail.Code != 250 || len(res.Rcpts) != 1 || res.Rcpts[0].Code != 250 {
				t.Fatalf("MAIL %s, RCPT %v: want both accepted, the refusal after DATA", res.Mail, res.Rcpts)
			}
			if r := res.Data; r.Code != 550 || r.Enhanced != "5.7.1" || r.Text != tc.text {
				t.Errorf("reply after DATA %q, want \"550 5.7.1 %s\"", r.String(), tc.text)
			}
		})
	}

	t.Run("a null-sender bounce from a tenant passes", func(t *testing.T) {
		e, id := env(tlsB, "", to("partner@example.org"),
			"From: Microsoft Outlook <postmaster@tenantb.onmicrosoft.com>", "To: partner@example.org")
		harness.MustSend(t, tenants, e)
		m := e2eWaitMessage(t, sink, id)
		if m.From != "" {
			t.Errorf("bounce arrived with MAIL FROM <%s>, want <>", m.From)
		}
	})

	t.Run("without a client certificate the tenants' listener is the Internet", func(t *testing.T) {
		e, _ := env(ca.ClientTLS(nil, ""), "john@tenanta.contoso.com", to("partner@example.org"), "From: john@tenanta.contoso.com")
		e2eWantRcptReply(t, send(t, tenants, e), 554, "5.7.1", "<partner@example.org>: relay access denied")
	})

	t.Run("Internet mail to an outside domain is refused at RCPT with 554 5.7.1", func(t *testing.T) {
		e, _ := env(nil, "sender@example.org", to("victim@example.net"), "From: sender@example.org")
		e2eWantRcptReply(t, send(t, internet, e), 554, "5.7.1", "<victim@example.net>: relay access denied")
	})

	t.Run("an unknown recipient of the authoritative domain is refused at RCPT with 550 5.1.1", func(t *testing.T) {
		e, _ := env(nil, "sender@example.org", to("nobody@contoso.com"), "From: sender@example.org")
		e2eWantRcptReply(t, send(t, internet, e), 550, "5.1.1",
			"<nobody@contoso.com>: recipient address rejected: unknown in the shared domain contoso.com")
	})

	t.Run("a deferred domain answers 451 with the configured text at RCPT", func(t *testing.T) {
		e, _ := env(nil, "sender@example.org", to("fiona@fabrikam.com"), "From: sender@example.org")
		e2eWantRcptReply(t, send(t, internet, e), 451, "4.7.1", "fabrikam.com is moving to tenant B; please try again later")
		if _, err := e2eWaitLog(enforce, "fiona@fabrikam.com"); err != nil {
			t.Errorf("the deferred attempt is not in the daemon log: %v", err)
		}
	})

	t.Run("a held domain's message waits in the hold queue and is delivered rewritten on release", func(t *testing.T) {
		e, id := env(nil, "sender@example.org", []harness.RcptTo{{Addr: "anna@northwind.com", Notify: "SUCCESS,FAILURE"}},
			"From: sender@example.org", "To: Anna <anna@northwind.com>")
		res := harness.MustSend(t, internet, e)
		q := waitHeld(t, pf, res.QueueID, e2eTimeout)
		if len(q.Recipients) != 1 {
			t.Errorf("held message %+v, want its one recipient", q)
		}
		t.Logf("held: %s to %v", q.QueueID, q.Recipients)
		line := e2eLogLine(t, enforce, "qid="+res.QueueID)
		if !strings.Contains(line, "verdict=hold") || !strings.Contains(line, "cutover-hold: northwind.com") {
			t.Errorf("log line of the held message lacks verdict=hold and its reason:\n%s", line)
		}
		if e2eCount(sink, id) != 0 {
			t.Fatal("the held message reached the sink before its release")
		}
		if err := pf.ReleaseHeld(); err != nil {
			t.Fatal(err)
		}
		m := e2eWaitMessage(t, sink, id)
		e2eWantRcpts(t, m, "anna@tenantb.contoso.com")
		if got := harness.Unfold(m.Header().Get("To")); got != "Anna <anna@tenantb.contoso.com>" {
			t.Errorf("To after release %q, want Anna <anna@tenantb.contoso.com>", got)
		}
		if r := e2eRcpt(m, "anna@tenantb.contoso.com"); r != nil && (r.Notify() != "SUCCESS,FAILURE" || r.ORCPT() != "rfc822;anna@northwind.com") {
			t.Errorf("released RCPT %q, want NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;anna@northwind.com", r.Line)
		}
	})

	t.Run("outside their windows a defer and a hold do nothing", func(t *testing.T) {
		for _, rc := range []struct{ rcpt, internal string }{
			{"lee@litware.com", "lee@tenantb.contoso.com"}, // defer window has passed
			{"ada@adatum.com", "ada@tenantb.contoso.com"},  // hold window not started
		} {
			e, id := env(nil, "sender@example.org", to(rc.rcpt), "From: sender@example.org", "To: "+rc.rcpt)
			harness.MustSend(t, internet, e)
			m := e2eWaitMessage(t, sink, id)
			e2eWantRcpts(t, m, rc.internal)
		}
		q, err := pf.Queue()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range q {
			if m.QueueName == "hold" {
				t.Errorf("message on hold outside the window: %+v", m)
			}
		}
	})

	t.Run("observe mode refuses and changes nothing and logs the would-be verdicts", func(t *testing.T) {
		spoof, spoofID := env(tlsA, "bob@tenantb.contoso.com", to("partner@example.org"),
			"From: bob@tenantb.contoso.com", "To: bob@tenantb.contoso.com",
			"X-MS-Exchange-CrossTenant-Id: "+e2eTenantAID)
		res := harness.MustSend(t, pf.ServiceAddr("smtpd-tenants-observe"), spoof)
		m := e2eWaitMessage(t, sink, spoofID)
		if m.From != "bob@tenantb.contoso.com" || harness.Unfold(m.Header().Get("To")) != "bob@tenantb.contoso.com" {
			t.Errorf("observed spoofing attempt changed: MAIL FROM <%s>, To %q", m.From, m.Header().Get("To"))
		}
		line := e2eLogLine(t, observe, "qid="+res.QueueID)
		for _, want := range []string{"verdict=accept", "observe=reject", "sender-domain: tenantb.contoso.com"} {
			if !strings.Contains(line, want) {
				t.Errorf("observe log line lacks %q:\n%s", want, line)
			}
		}

		deferred, deferID := env(nil, "sender@example.org", to("fiona@fabrikam.com"), "From: sender@example.org", "To: fiona@fabrikam.com")
		res = harness.MustSend(t, pf.ServiceAddr("smtpd-observe"), deferred)
		m = e2eWaitMessage(t, sink, deferID)
		e2eWantRcpts(t, m, "fiona@fabrikam.com")
		if got := harness.Unfold(m.Header().Get("To")); got != "fiona@fabrikam.com" {
			t.Errorf("observed To %q changed", got)
		}
		line = e2eLogLine(t, observe, "qid="+res.QueueID)
		for _, want := range []string{"observe=", "451 4.7.1 fabrikam.com is moving", "cutover-defer: fabrikam.com",
			"rcpt:fiona@fabrikam.com->fiona@tenantb.contoso.com"} {
			if !strings.Contains(line, want) {
				t.Errorf("observe log line lacks %q:\n%s", want, line)
			}
		}
	})

	t.Run("refused messages never reached the sink", func(t *testing.T) {
		for _, id := range refusedIDs {
			if e2eCount(sink, id) != 0 {
				t.Errorf("refused message %s was delivered", id)
			}
		}
	})
}

// e2eWantRcptReply checks the reply to the only RCPT TO.
func e2eWantRcptReply(t *testing.T, res *harness.Result, code int, status, text string) {
	t.Helper()
	if len(res.Rcpts) != 1 {
		t.Fatalf("MAIL %s, RCPT replies %v: want one RCPT reply", res.Mail, res.Rcpts)
	}
	if r := res.Rcpts[0]; r.Code != code || r.Enhanced != status || r.Text != text {
		t.Errorf("RCPT reply %q, want \"%d %s %s\"", r.String(), code, status, text)
	}
	if res.Data.Code != 0 {
		t.Errorf("DATA was sent after the refusal: %s", res.Data)
	}
}
