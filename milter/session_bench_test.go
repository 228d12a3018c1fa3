package milter

import "testing"

// BenchmarkSession is one whole milter connection per message, as Postfix opens one per SMTP
// connection: connect, option negotiation, macros, MAIL, three RCPTs, ten headers, end of
// message with its actions, quit; over a unix socket, driven by go-milter's client. Allocations
// count both sides.
func BenchmarkSession(b *testing.B) {
	env := newTestEnv(b, envOptions{})
	msg := testMessage{
		qid: "BENCH", from: "john@tenanta.contoso.com", args: []string{"SIZE=3000"},
		rcpts: []Rcpt{
			{Addr: "partner@example.net", Args: []string{"NOTIFY=SUCCESS,FAILURE"}},
			{Addr: "bob@contoso.com", Args: []string{"NOTIFY=DELAY"}},
			{Addr: "other@example.org"},
		},
		headers: [][2]string{
			{"Received", " from client.example by gateway.example; Mon, 23 Nov 2026 12:00:00 +0000"},
			{"From", " John Doe <john@tenanta.contoso.com>"},
			{"To", " Partner <partner@example.net>, Bob <bob@contoso.com>"},
			{"Cc", " jane@tenanta.contoso.com, other@example.org"},
			{"Reply-To", " john@tenanta.contoso.com"},
			{"Subject", " Quarterly report"},
			{"Date", " Mon, 23 Nov 2026 12:00:00 +0000"},
			{"Message-ID", " <1234@tenanta.contoso.com>"},
			{"MIME-Version", " 1.0"},
			{"Content-Type", " text/plain; charset=utf-8"},
		},
	}
	b.ReportAllocs()
	for b.Loop() {
		c := env.open(b, "198.51.100.7", tenantA...)
		res := c.send(msg)
		if len(res.end) != 7 {
			b.Fatalf("unexpected end of message: %q", res.end)
		}
		c.s.Close()
	}
}
