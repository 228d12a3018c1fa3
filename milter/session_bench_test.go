package milter

import (
	"syscall"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/milter/decide"
)

// cpuTime is the CPU time (user and system, all threads) the process has used so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process's CPU time per iteration since start as cpu-ns/op: on a busy
// shared machine it varies far less than ns/op, which counts waiting for the CPU too.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
}

// benchMessage is the message of the session benchmarks: an outbound message from tenant A with
// three recipients and ten headers, whose From, To, Cc and Reply-To hold rewritten addresses.
var benchMessage = testMessage{
	qid: "BENCH", from: "john@tenanta.contoso.com", args: []string{"SIZE=3000"},
	rcpts: []decide.Rcpt{
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

// BenchmarkSession is one whole milter connection per message, as Postfix opens one per SMTP
// connection: connect, option negotiation, macros, MAIL, three RCPTs, ten headers, end of
// message with its actions, quit; over a unix socket, driven by go-milter's client, which
// offers no SMFIP_NR_* bit, so every event is answered. Allocations count both sides.
func BenchmarkSession(b *testing.B) {
	env := newTestEnv(b, envOptions{})
	b.ReportAllocs()
	start := cpuTime(b)
	for b.Loop() {
		c := env.open(b, "198.51.100.7", tenantA...)
		res := c.send(benchMessage)
		if len(res.end) != 7 {
			b.Fatalf("unexpected end of message: %q", res.end)
		}
		c.s.Close()
	}
	reportCPU(b, start)
}

// BenchmarkSessionPostfix is BenchmarkSession with the client speaking as Postfix 3.7 does
// (postfixMTA): it offers every SMFIP_* bit, sends each stage's macros (the end-of-header
// macros before every header), does not wait where the milter negotiated no reply, and
// buffers its output until it reads. "conn" opens one milter connection per message (one SMTP
// connection per message); "reuse" sends every message over one connection, with SMFIC_ABORT
// after each, as smtpd does for an SMTP connection that carries many. The client's own cost is
// small next to the milter's, so ns/op and allocs/op are mostly the milter's.
func BenchmarkSessionPostfix(b *testing.B) {
	env := newTestEnv(b, envOptions{})
	msg := postfixBenchMessage()
	b.Run("conn", func(b *testing.B) {
		b.ReportAllocs()
		start := cpuTime(b)
		for b.Loop() {
			m := dialPostfix(b, env.sock, postfixEvents)
			m.connect("smtpd-tenant-a", "198.51.100.7")
			if res := m.send(msg); len(res.end) != 7 {
				b.Fatalf("unexpected end of message: %q", res.end)
			}
			m.quit()
		}
		reportCPU(b, start)
	})
	b.Run("reuse", func(b *testing.B) {
		m := dialPostfix(b, env.sock, postfixEvents)
		m.connect("smtpd-tenant-a", "198.51.100.7")
		b.ReportAllocs()
		start := cpuTime(b)
		for b.Loop() {
			if res := m.send(msg); len(res.end) != 7 {
				b.Fatalf("unexpected end of message: %q", res.end)
			}
			m.abort()
		}
		reportCPU(b, start)
		m.quit()
	})
}

func postfixBenchMessage() mtaMessage {
	return mtaMessage{
		qid: benchMessage.qid, daemon: "smtpd-tenant-a", from: benchMessage.from, mailArg: "SIZE=3000",
		rcpts: benchMessage.rcpts, headers: benchMessage.headers,
	}
}
