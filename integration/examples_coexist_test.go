package integration

import (
	"bytes"
	"testing"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// TestExampleOnpremRelay runs postfix-examples/onprem-relay (seed 002).
func TestExampleOnpremRelay(t *testing.T) {
	ca := newExampleCA(t)
	mailstore, cloud := harness.NewTLSSink(t, "mailstore", ca), harness.NewTLSSink(t, "cloud", ca)
	ex := startExample(t, exampleOptions{
		Folder:       "onprem-relay",
		CA:           ca,
		Hops:         map[string]*harness.Sink{"mailstore.contoso.edu": mailstore, "cloud": cloud},
		GatewayNames: []string{"relay.contoso.edu", "mx1.contoso.edu"},
		Networks:     map[string]string{"10.20.0.25": "127.0.0.4"},
	})
	const (
		public    = "198.51.100.25:smtp"
		inside    = "10.20.0.1:smtp"
		fromCloud = "198.51.100.27:smtp"
	)
	fromMailstore := func(env harness.Envelope) harness.Envelope { env.LocalAddr = "127.0.0.4"; return env }
	reset := func() { ex.internet.Reset(); mailstore.Reset(); cloud.Reset() }

	t.Run("Internet mail: on-premises mailboxes stay, everyone else goes to live.contoso.edu", func(t *testing.T) {
		reset()
		data := harness.BuildMessage([]string{"From: friend@fabrikam.example", "To: Dean <dean@contoso.edu>, Alice <alice@contoso.edu>", "Subject: hello"}, "Hello.\n")
		ex.mustSend(public, ex.fromInternet(harness.Envelope{
			From: "friend@fabrikam.example", Rcpts: harness.Rcpts("dean@contoso.edu", "alice@contoso.edu"), Data: data,
		}))
		m := waitFor(t, mailstore, 1, deliveryTimeout)[0]
		wantRcpts(t, m.RcptAddrs(), "dean@contoso.edu")
		c := waitFor(t, cloud, 1, deliveryTimeout)[0]
		wantRcpts(t, c.RcptAddrs(), "alice@live.contoso.edu")
		if r := rcptOf(t, c, "alice@live.contoso.edu"); r.ORCPT() != "rfc822;alice@contoso.edu" {
			t.Errorf("routed recipient's ORCPT %q, want the address the sender used", r.ORCPT())
		}
		if c.ClientCN != "relay.contoso.edu" {
			t.Errorf("Microsoft 365 reached with client certificate %q, want relay.contoso.edu", c.ClientCN)
		}
		// The routing domain is for delivery only: the header keeps the shared address.
		wantUntouched(t, data, header(t, c), nil)
	})

	t.Run("an unknown contoso.edu recipient goes to the cloud once, to be refused there", func(t *testing.T) {
		reset()
		ex.mustSend(public, ex.fromInternet(harness.Envelope{
			From: "friend@fabrikam.example", Rcpts: harness.Rcpts("nobody@contoso.edu"),
			Data: harness.BuildMessage([]string{"Subject: x"}, "x\n"),
		}))
		c := waitFor(t, cloud, 1, deliveryTimeout)[0]
		wantRcpts(t, c.RcptAddrs(), "nobody@live.contoso.edu")
		wantNothingAt(t, ex.internet, mailstore)
	})

	t.Run("staff write from the mailstore: students via the cloud, the Internet as is", func(t *testing.T) {
		reset()
		ex.mustSend(inside, fromMailstore(harness.Envelope{
			From: "dean@contoso.edu", Rcpts: harness.Rcpts("alice@contoso.edu", "friend@fabrikam.example"),
			Data: harness.BuildMessage([]string{"From: Dean <dean@contoso.edu>", "To: alice@contoso.edu, friend@fabrikam.example", "Subject: x"}, "x\n"),
		}))
		c := waitFor(t, cloud, 1, deliveryTimeout)[0]
		wantRcpts(t, c.RcptAddrs(), "alice@live.contoso.edu")
		msgs, err := ex.internet.WaitFor(1, deliveryTimeout)
		if err != nil {
			t.Fatal(err)
		}
		if m := msgs[0]; m.From != "dean@contoso.edu" || len(m.Rcpts) != 1 || m.Rcpts[0].Addr != "friend@fabrikam.example" {
			t.Errorf("at the Internet: %s", m)
		}
	})

	t.Run("a cloud mailbox on live.contoso.edu leaves as contoso.edu", func(t *testing.T) {
		reset()
		ex.mustSend(fromCloud, ex.fromExchangeOnline(harness.Envelope{
			From: "bob@live.contoso.edu", Rcpts: harness.Rcpts("friend@fabrikam.example", "dean@contoso.edu"),
			Data: harness.BuildMessage([]string{"From: Bob <bob@live.contoso.edu>", "To: friend@fabrikam.example", "Cc: dean@contoso.edu", "Subject: x"}, "x\n"),
		}))
		msgs, err := ex.internet.WaitFor(1, deliveryTimeout)
		if err != nil {
			t.Fatal(err)
		}
		if msgs[0].From != "bob@contoso.edu" {
			t.Errorf("MAIL FROM <%s>, want <bob@contoso.edu>", msgs[0].From)
		}
		wantField(t, msgs[0].Header(), "From", "Bob <bob@contoso.edu>")
		m := waitFor(t, mailstore, 1, deliveryTimeout)[0]
		wantRcpts(t, m.RcptAddrs(), "dean@contoso.edu")
	})

	t.Run("refused: relaying, and a foreign sender on the mailstore's connector", func(t *testing.T) {
		reset()
		res := ex.send(public, ex.fromInternet(harness.Envelope{From: "x@fabrikam.example", Rcpts: harness.Rcpts("y@gmail.example"),
			Data: harness.BuildMessage([]string{"Subject: x"}, "x\n")}))
		wantRefused(t, res, 554, "5.7.1")
		res = ex.send(inside, fromMailstore(harness.Envelope{From: "x@fabrikam.example", Rcpts: harness.Rcpts("y@gmail.example"),
			Data: harness.BuildMessage([]string{"From: x@fabrikam.example"}, "x\n")}))
		wantRefused(t, res, 550, "5.7.1")
		wantNothingAt(t, ex.internet, mailstore, cloud)
	})
}

// TestExampleThirdParty runs postfix-examples/third-party (seed 003).
func TestExampleThirdParty(t *testing.T) {
	ca := newExampleCA(t)
	domino, cloud := harness.NewTLSSink(t, "domino", ca), harness.NewTLSSink(t, "cloud", ca)
	ex := startExample(t, exampleOptions{
		Folder:       "third-party",
		CA:           ca,
		Hops:         map[string]*harness.Sink{"notes-smtp.contoso.com": domino, "cloud": cloud},
		GatewayNames: []string{"mx1.contoso.com"},
		Networks:     map[string]string{"10.20.0.30": "127.0.0.5"},
	})
	const (
		public = "203.0.113.25:smtp"
		inside = "10.20.0.1:smtp"
	)
	fromDomino := func(env harness.Envelope) harness.Envelope { env.LocalAddr = "127.0.0.5"; return env }
	reset := func() { ex.internet.Reset(); domino.Reset(); cloud.Reset() }

	t.Run("Internet mail: Domino users to the routing domain, cloud users passed on", func(t *testing.T) {
		reset()
		data := harness.BuildMessage([]string{"From: partner@fabrikam.example", "To: Gabriela <glaureano@contoso.com>", "Cc: alice@contoso.com", "Subject: x"}, "x\n")
		ex.mustSend(public, ex.fromInternet(harness.Envelope{
			From: "partner@fabrikam.example", Rcpts: harness.Rcpts("glaureano@contoso.com", "alice@contoso.com"), Data: data,
		}))
		d := waitFor(t, domino, 1, deliveryTimeout)[0]
		wantRcpts(t, d.RcptAddrs(), "glaureano@domino.contoso.com")
		wantField(t, header(t, d), "To", "Gabriela <glaureano@domino.contoso.com>")
		c := waitFor(t, cloud, 1, deliveryTimeout)[0]
		wantRcpts(t, c.RcptAddrs(), "alice@contoso.com")
		if c.ClientCN != "mx1.contoso.com" {
			t.Errorf("Microsoft 365 reached with client certificate %q, want mx1.contoso.com", c.ClientCN)
		}
	})

	t.Run("Domino users leave as contoso.com, the body untouched", func(t *testing.T) {
		reset()
		body := "--b1\r\nContent-Type: text/plain\r\n\r\nFrom: glaureano@domino.contoso.com (quoted, not a header)\r\n--b1--\r\n"
		data := harness.BuildMessage([]string{
			"From: Gabriela Laureano <glaureano@domino.contoso.com>", "To: partner@fabrikam.example",
			"MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="b1"`, "Subject: x",
		}, body)
		ex.mustSend(inside, fromDomino(harness.Envelope{From: "glaureano@domino.contoso.com", Rcpts: harness.Rcpts("partner@fabrikam.example"), Data: data}))
		ex.mustSend(inside, fromDomino(harness.Envelope{From: "fred@domino.contoso.com", Rcpts: harness.Rcpts("partner@fabrikam.example"),
			Data: harness.BuildMessage([]string{"From: fred@domino.contoso.com", "Subject: y"}, "y\n")}))
		msgs, err := ex.internet.WaitFor(2, deliveryTimeout)
		if err != nil {
			t.Fatal(err)
		}
		senders := map[string]*harness.Message{}
		for _, m := range msgs {
			senders[m.From] = m
		}
		g, f := senders["glaureano@contoso.com"], senders["fred@contoso.com"]
		if g == nil || f == nil {
			t.Fatalf("senders at the Internet: %v, want glaureano@contoso.com and fred@contoso.com", msgs)
		}
		h, gotBody, _ := harness.ParseMessage(g.Data)
		wantField(t, h, "From", "Gabriela Laureano <glaureano@contoso.com>")
		wantUntouched(t, data, h, []string{"From"})
		if _, sentBody, _ := harness.ParseMessage(data); !bytes.Equal(gotBody, sentBody) {
			t.Errorf("body changed:\n got %q\nwant %q", gotBody, sentBody)
		}
		wantField(t, f.Header(), "From", "fred@contoso.com")
	})

	t.Run("Domino to a cloud user, and Microsoft 365 to a Domino user's target address", func(t *testing.T) {
		reset()
		ex.mustSend(inside, fromDomino(harness.Envelope{From: "pkrause@domino.contoso.com", Rcpts: harness.Rcpts("alice@contoso.com"),
			Data: harness.BuildMessage([]string{"From: pkrause@domino.contoso.com", "To: alice@contoso.com"}, "x\n")}))
		c := waitFor(t, cloud, 1, deliveryTimeout)[0]
		if c.From != "peter.krause@contoso.com" {
			t.Errorf("MAIL FROM <%s>, want <peter.krause@contoso.com>", c.From)
		}
		ex.mustSend(public, ex.fromExchangeOnline(harness.Envelope{From: "alice@contoso.com", Rcpts: harness.Rcpts("glaureano@domino.contoso.com"),
			Data: harness.BuildMessage([]string{"From: alice@contoso.com", "To: Gabriela <glaureano@contoso.com>"}, "x\n")}))
		d := waitFor(t, domino, 1, deliveryTimeout)[0]
		wantRcpts(t, d.RcptAddrs(), "glaureano@domino.contoso.com")
	})

	t.Run("a foreign sender from the Domino server is refused", func(t *testing.T) {
		reset()
		res := ex.send(inside, fromDomino(harness.Envelope{From: "x@fabrikam.example", Rcpts: harness.Rcpts("y@gmail.example"),
			Data: harness.BuildMessage([]string{"From: x@fabrikam.example"}, "x\n")}))
		wantRefused(t, res, 550, "5.7.1")
		wantNothingAt(t, ex.internet, domino, cloud)
	})
}
