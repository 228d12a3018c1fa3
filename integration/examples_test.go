package integration

// The postfix-examples folders, each run through a real Postfix with edgerewrite. A test reads
// the folder's files as they are published and substitutes only what cannot exist on a test
// machine:
//
//	production value (in the folder)                       test value
//	listener lines "203.0.113.26:smtp inet ... smtpd -o .." harness listeners on 127.0.0.1:PORT, same -o
//	                                                       options, chroot n, named after
//	                                                       milter_macro_daemon_name ("internet" if none)
//	/etc/postfix/tls/NAME.pem                              key + chain from a test CA: gateway.pem for
//	                                                       mx1.contoso.com and 127.0.0.1, tenanta.pem
//	                                                       CN tenanta.contoso.com, ...
//	/etc/postfix/tls/exchange-online-ca.pem,               the test CA, which also issued the client
//	/etc/ssl/certs/ca-certificates.crt                     certificate CN mail.protection.outlook.com
//	/etc/postfix/NAME (maps)                               $config_directory/NAME, postmap'ed
//	exchange-online.cidr                                   as is, plus "127.0.0.0/8 OK"
//	transport next hops "tenanta:[...outlook.com]"         "tenanta:[localhost]:PORT" of a recording sink
//	                                                       (TLS with a certificate for localhost, so
//	                                                       smtp_tls_security_level=secure holds; it
//	                                                       records the client certificate's CN)
//	MX delivery to the Internet                            relayhost = the harness sink
//	smtp_bind_address = 203.0.113.25                       127.0.0.1
//	on-premises servers 10.20.0.25, 10.20.0.30             127.0.0.4, 127.0.0.5 (the test sends from them)
//	/var/spool/postfix/edgerewrite/edgerewrite.sock        the instance's queue directory/edgerewrite/...
//	                                                       (main.cf's unix:edgerewrite/edgerewrite.sock as is)
//	/etc/edgerewrite/rules                                 a copy of the folder's rules/
//	metrics_listen 127.0.0.1:9754                          a free port
//	OpenDKIM: inet:127.0.0.1:8891, /etc/opendkim/,         a free port, a temporary directory, a key
//	/run/opendkim/, the key                                made by opendkim-genkey (below /var/lib:
//	                                                       OpenDKIM refuses a key under /tmp)
//
// Clients: Exchange Online is 127.0.0.2 with STARTTLS and that client certificate; the
// Internet is 127.0.0.3.

import (
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// TestExampleTwoTenants runs postfix-examples/two-tenants (seeds 000 and 004).
func TestExampleTwoTenants(t *testing.T) {
	ca := newExampleCA(t)
	hopA, hopB := harness.NewTLSSink(t, "tenanta", ca), harness.NewTLSSink(t, "tenantb", ca)
	ex := startExample(t, exampleOptions{
		Folder:       "two-tenants",
		CA:           ca,
		Hops:         map[string]*harness.Sink{"tenanta": hopA, "tenantb": hopB},
		GatewayNames: []string{"mx1.contoso.com", "relay-tenanta.contoso.com", "relay-tenantb.contoso.com"},
		ClientCerts:  map[string]string{"tenanta": "tenanta.contoso.com", "tenantb": "tenantb.contoso.com"},
	})
	const (
		public  = "203.0.113.25:smtp"
		tenantA = "203.0.113.26:smtp"
		tenantB = "203.0.113.27:smtp"
	)
	reset := func() { ex.internet.Reset(); hopA.Reset(); hopB.Reset() }

	t.Run("outbound from tenant A leaves as contoso.com", func(t *testing.T) {
		reset()
		data := harness.BuildMessage([]string{
			`From: "John Smith" <john@tenanta.contoso.com>`,
			"To: Partner <partner@fabrikam.example>",
			"Cc: Jane Doe <j.doe@tenanta.contoso.com>",
			"Reply-To: john@tenanta.contoso.com",
			"Subject: Quarterly numbers",
			"Message-ID: <out-1@tenanta.contoso.com>",
			"DKIM-Signature: v=1; a=rsa-sha256; d=tenanta.contoso.com; s=selector1; b=AAAA",
			"X-MS-Exchange-CrossTenant-Id: aaaaaaaa-0000-4000-8000-00000000000a",
		}, "Numbers attached.\n")
		res := ex.mustSend(tenantA, ex.fromExchangeOnline(harness.Envelope{
			From: "john@tenanta.contoso.com", RET: "HDRS", ENVID: "out-1",
			Rcpts: []harness.RcptTo{{Addr: "partner@fabrikam.example", Notify: "SUCCESS,FAILURE", ORCPT: "rfc822;partner@fabrikam.example"}},
			Data:  data,
		}))
		msgs, err := ex.internet.WaitFor(1, deliveryTimeout)
		if err != nil {
			t.Fatal(err)
		}
		m := msgs[0]
		if m.From != "john@contoso.com" || m.RET() != "HDRS" || m.ENVID() != "out-1" {
			t.Errorf("envelope sender: %s", m)
		}
		if r := m.Rcpts[0]; r.Addr != "partner@fabrikam.example" || r.Notify() != "SUCCESS,FAILURE" || r.ORCPT() != "rfc822;partner@fabrikam.example" {
			t.Errorf("recipient: %s", m)
		}
		h := m.Header()
		wantField(t, h, "From", `"John Smith" <john@contoso.com>`)
		wantField(t, h, "Cc", "Jane Doe <jane.doe@contoso.com>")
		wantField(t, h, "Reply-To", "john@contoso.com")
		wantUntouched(t, data, h, []string{"From", "Cc", "Reply-To"})
		if _, err := ex.pf.WaitLog(res.QueueID, deliveryTimeout); err != nil {
			t.Error(err)
		}
		wantTracked(t, ex, res.QueueID)
	})

	t.Run("a reply from the Internet goes back to tenant A with its DSN parameters", func(t *testing.T) {
		reset()
		data := harness.BuildMessage([]string{
			"From: Partner <partner@fabrikam.example>",
			`To: "John Smith" <john@contoso.com>`,
			"Cc: anna+news@sales.contoso.com",
			"Subject: Re: Quarterly numbers",
		}, "Thanks.\n")
		ex.mustSend(public, ex.fromInternet(harness.Envelope{
			From: "partner@fabrikam.example",
			Rcpts: []harness.RcptTo{
				{Addr: "john@contoso.com", Notify: "SUCCESS,FAILURE", ORCPT: "rfc822;john@contoso.com"},
				{Addr: "anna+news@sales.contoso.com"},
			},
			Data: data,
		}))
		m := waitFor(t, hopA, 1, deliveryTimeout)[0]
		wantRcpts(t, m.RcptAddrs(), "john@tenanta.contoso.com", "anna+news@sales.tenanta.contoso.com")
		if r := rcptOf(t, m, "john@tenanta.contoso.com"); r.Notify() != "SUCCESS,FAILURE" || r.ORCPT() != "rfc822;john@contoso.com" {
			t.Errorf("DSN parameters of the rewritten recipient: NOTIFY=%q ORCPT=%q", r.Notify(), r.ORCPT())
		}
		if m.ClientCN != "tenanta.contoso.com" {
			t.Errorf("tenant A was reached with client certificate %q, want tenanta.contoso.com (seed 004)", m.ClientCN)
		}
		h := header(t, m)
		wantField(t, h, "To", `"John Smith" <john@tenanta.contoso.com>`)
		wantField(t, h, "Cc", "anna+news@sales.tenanta.contoso.com")
		wantUntouched(t, data, h, []string{"To", "Cc"})
	})

	t.Run("mail for a tenant B user from the Exchange CSV goes to tenant B", func(t *testing.T) {
		reset()
		ex.mustSend(public, ex.fromInternet(harness.Envelope{
			From: "partner@fabrikam.example", Rcpts: harness.Rcpts("a.khan@contoso.com"),
			Data: harness.BuildMessage([]string{"From: partner@fabrikam.example", "To: a.khan@contoso.com", "Subject: hi"}, "Hi.\n"),
		}))
		m := waitFor(t, hopB, 1, deliveryTimeout)[0]
		wantRcpts(t, m.RcptAddrs(), "ahmed.khan@tenantb.contoso.com")
		if m.ClientCN != "tenantb.contoso.com" {
			t.Errorf("tenant B was reached with client certificate %q, want tenantb.contoso.com", m.ClientCN)
		}
		wantField(t, header(t, m), "To", "ahmed.khan@tenantb.contoso.com")
	})

	t.Run("hairpin: tenant B writes to a tenant A user", func(t *testing.T) {
		reset()
		ex.mustSend(tenantB, ex.fromExchangeOnline(harness.Envelope{
			From: "mary@tenantb.contoso.com", Rcpts: harness.Rcpts("john@contoso.com"),
			Data: harness.BuildMessage([]string{"From: Mary <mary@tenantb.contoso.com>", "To: John <john@contoso.com>", "Subject: lunch"}, "12:30?\n"),
		}))
		m := waitFor(t, hopA, 1, deliveryTimeout)[0]
		if m.From != "mary@contoso.com" {
			t.Errorf("MAIL FROM <%s>, want <mary@contoso.com>", m.From)
		}
		wantRcpts(t, m.RcptAddrs(), "john@tenanta.contoso.com")
		if m.ClientCN != "tenanta.contoso.com" {
			t.Errorf("client certificate %q, want tenanta.contoso.com", m.ClientCN)
		}
		wantField(t, header(t, m), "From", "Mary <mary@contoso.com>")
	})

	t.Run("spoofing: tenant A's connector refuses tenant B's sender with 5.7.1", func(t *testing.T) {
		reset()
		for _, env := range []harness.Envelope{
			{From: "mary@tenantb.contoso.com", Rcpts: harness.Rcpts("partner@fabrikam.example"),
				Data: harness.BuildMessage([]string{"From: mary@tenantb.contoso.com", "Subject: x"}, "x\n")},
			{From: "john@tenanta.contoso.com", Rcpts: harness.Rcpts("partner@fabrikam.example"),
				Data: harness.BuildMessage([]string{"From: CEO <ceo@contoso.com>", "Subject: wire the money"}, "x\n")},
		} {
			res := ex.send(tenantA, ex.fromExchangeOnline(env))
			wantRefused(t, res, 550, "5.7.1")
		}
		wantNothingAt(t, ex.internet, hopA, hopB)
	})

	t.Run("refusals from the Internet: unknown shared-domain user 5.1.1, relay 5.7.1", func(t *testing.T) {
		reset()
		res := ex.send(public, ex.fromInternet(harness.Envelope{From: "x@fabrikam.example", Rcpts: harness.Rcpts("nobody@contoso.com"),
			Data: harness.BuildMessage([]string{"Subject: x"}, "x\n")}))
		wantRefused(t, res, 550, "5.1.1")
		res = ex.send(public, ex.fromInternet(harness.Envelope{From: "x@fabrikam.example", Rcpts: harness.Rcpts("someone@gmail.example"),
			Data: harness.BuildMessage([]string{"Subject: x"}, "x\n")}))
		wantRefused(t, res, 554, "5.7.1")
		wantNothingAt(t, ex.internet, hopA, hopB)
	})

	t.Run("a tenant listener without a client certificate takes no mail", func(t *testing.T) {
		reset()
		env := ex.fromExchangeOnline(harness.Envelope{From: "john@tenanta.contoso.com", Rcpts: harness.Rcpts("partner@fabrikam.example"),
			Data: harness.BuildMessage([]string{"From: john@tenanta.contoso.com"}, "x\n")})
		env.TLS = ex.ca.ClientTLS(nil, "localhost")
		res, err := harness.Send(ex.listener(tenantA), env)
		if err == nil && res.Refusal().Code == 0 {
			t.Errorf("accepted without a client certificate: %+v", res)
		}
		wantNothingAt(t, ex.internet, hopA, hopB)
	})

	t.Run("a bounce for a rewritten sender goes back into tenant A", func(t *testing.T) {
		reset()
		ex.internet.FailWith(func(*harness.Message) *smtp.SMTPError {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user here"}
		})
		defer ex.internet.FailWith(nil)
		ex.mustSend(tenantA, ex.fromExchangeOnline(harness.Envelope{
			From: "john@tenanta.contoso.com", Rcpts: harness.Rcpts("gone@fabrikam.example"),
			Data: harness.BuildMessage([]string{"From: john@tenanta.contoso.com", "To: gone@fabrikam.example", "Subject: x"}, "x\n"),
		}))
		m := waitFor(t, hopA, 1, deliveryTimeout)[0]
		if m.From != "" {
			t.Errorf("bounce from <%s>, want the null sender", m.From)
		}
		wantRcpts(t, m.RcptAddrs(), "john@tenanta.contoso.com")
	})
}
