package milter

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/milter/config"
	"github.com/edgerewrite/edgerewrite/milter/decide"
)

// limitsHeapMiB is what the Server may hold after a client pushed past every bound: the
// abuses below send tens of MiB of macros and headers.
const limitsHeapMiB = 64

// servedNormally sends the usual message over m and checks it is rewritten and accepted.
func servedNormally(t *testing.T, m *postfixMTA, what string) {
	t.Helper()
	res := m.send(postfixBenchMessage())
	if len(res.end) < 2 || res.end[len(res.end)-1] != "SMFIR_ACCEPT" || !strings.HasPrefix(res.end[0], "SMFIR_CHGFROM") {
		t.Errorf("%s: a normal message was not served: %q", what, res.end)
	}
	m.abort()
}

// tempfailed reports whether the end-of-message replies are a temporary failure.
func tempfailed(end []string) bool {
	return len(end) == 1 && (end[0] == "SMFIR_TEMPFAIL" || strings.HasPrefix(end[0], "SMFIR_REPLYCODE 451 4."))
}

// TestLimits pushes a connection past each bound of config.Limits against the Server's
// socket: the message concerned (or the SMTP session) gets a temporary failure and a log line,
// a normal message after it is served, and the Server's memory stays small.
func TestLimits(t *testing.T) {
	big := func(n int) string { return strings.Repeat("x", n) }
	cases := []struct {
		name   string
		limits config.Limits
		// abuse misbehaves on the Server at sock; it returns the connection to send the normal
		// message over (nil: a new one).
		abuse func(t *testing.T, env *testEnv) *postfixMTA
	}{
		{
			name:   limitMacros + ": 300 distinct macros at connect",
			limits: config.Limits{MaxMacros: 100},
			abuse: func(t *testing.T, env *testEnv) *postfixMTA {
				m := dialPostfix(t, env.sock, postfixEvents)
				for i := range 300 {
					name := fmt.Sprintf("{x%d}", i)
					m.lists[smficConnect] = append(m.lists[smficConnect], name)
					m.vals[name] = "v"
				}
				m.connect("smtpd-tenant-a", "198.51.100.7")
				// Every message of the connection fails: its connect macros are incomplete.
				for range 2 {
					if res := m.send(postfixBenchMessage()); !tempfailed(res.end) || !tempfailed(res.rcpts[:1]) {
						t.Errorf("over max_macros at connect: RCPT %q, end %q; want temporary failures", res.rcpts, res.end)
					}
					m.abort()
				}
				m.quit()
				return nil
			},
		},
		{
			name: limitMacroBytes + ": 20 macros of 1 MB in a message",
			abuse: func(t *testing.T, env *testEnv) *postfixMTA {
				m := dialPostfix(t, env.sock, postfixEvents)
				m.connect("smtpd-tenant-a", "198.51.100.7")
				i := 0
				m.before = func(m *postfixMTA, cmd byte) {
					if cmd == smficRcpt || cmd == smficHeader {
						for ; i < 20; i++ {
							m.w = appendPacket(m.w, smficMacro, append([]byte{smficRcpt}, cstr(fmt.Sprintf("{big%d}", i), big(1000_000))...))
							if cmd == smficRcpt {
								i++
								break
							}
						}
					}
				}
				if res := m.send(postfixBenchMessage()); !tempfailed(res.end) {
					t.Errorf("over max_macro_bytes: end %q, want a temporary failure", res.end)
				}
				m.abort()
				m.before = nil
				return m
			},
		},
		{
			name: limitHeaderBytes + ": 4 MB of headers",
			abuse: func(t *testing.T, env *testEnv) *postfixMTA {
				m := dialPostfix(t, env.sock, postfixEvents)
				m.connect("smtpd-tenant-a", "198.51.100.7")
				msg := postfixBenchMessage()
				for i := range 40 {
					msg.headers = append(msg.headers, [2]string{fmt.Sprintf("X-Big-%d", i), " " + big(100_000)})
				}
				if res := m.send(msg); !tempfailed(res.end) {
					t.Errorf("over max_header_bytes: end %q, want a temporary failure", res.end)
				}
				m.abort()
				return m
			},
		},
		{
			name:   limitHeaderBytes + ": every header answered when the MTA waits for it",
			limits: config.Limits{MaxHeaderBytes: 1000},
			abuse: func(t *testing.T, env *testEnv) *postfixMTA {
				m := dialPostfix(t, env.sock, postfixEvents&^smfipNRAll)
				m.connect("smtpd-tenant-a", "198.51.100.7")
				msg := postfixBenchMessage()
				for i := range 20 {
					msg.headers = append(msg.headers, [2]string{fmt.Sprintf("X-Big-%d", i), " " + big(100)})
				}
				if res := m.send(msg); !tempfailed(res.end) {
					t.Errorf("over max_header_bytes: end %q, want a temporary failure", res.end)
				}
				m.abort()
				return m
			},
		},
		{
			name:   limitRecipients + ": 60 recipients",
			limits: config.Limits{MaxRecipients: 50},
			abuse: func(t *testing.T, env *testEnv) *postfixMTA {
				m := dialPostfix(t, env.sock, postfixEvents)
				m.connect("smtpd-tenant-a", "198.51.100.7")
				msg := postfixBenchMessage()
				msg.rcpts = nil
				for i := range 60 {
					msg.rcpts = append(msg.rcpts, decide.Rcpt{Addr: fmt.Sprintf("r%d@example.net", i)})
				}
				res := m.send(msg)
				if res.rcpts[49] != "SMFIR_CONTINUE" || !tempfailed(res.rcpts[50:51]) || !tempfailed(res.end) {
					t.Errorf("over max_recipients: RCPT 50 %q, 51 %q, end %q; want the 51st and the message tempfailed",
						res.rcpts[49], res.rcpts[50], res.end)
				}
				m.abort()
				return m
			},
		},
		{
			name:   limitReadTimeout + ": idle between messages and within one",
			limits: config.Limits{ReadTimeout: "300ms"},
			abuse: func(t *testing.T, env *testEnv) *postfixMTA {
				for _, within := range []bool{false, true} {
					m := dialPostfix(t, env.sock, postfixEvents)
					m.connect("smtpd-tenant-a", "198.51.100.7")
					if within {
						m.event(smficMail, smfipNoMail, smfipNRMail, cstr("<john@tenanta.contoso.com>"))
						m.conn.Write(m.w)
						m.w = m.w[:0]
					}
					start := time.Now()
					m.conn.SetReadDeadline(start.Add(5 * time.Second))
					_, err := m.conn.Read(make([]byte, 1))
					if !errors.Is(err, io.EOF) {
						t.Errorf("in a message %t: the idle connection was not closed: %v", within, err)
					}
					if took := time.Since(start); took < 250*time.Millisecond || took > 3*time.Second {
						t.Errorf("in a message %t: closed after %s, want about 300ms", within, took)
					}
					m.conn.Close()
				}
				return nil
			},
		},
		{
			name:   limitConnections + ": a fourth connection of three",
			limits: config.Limits{MaxConnections: 3},
			abuse: func(t *testing.T, env *testEnv) *postfixMTA {
				var ms []*postfixMTA
				for range 3 {
					m := dialPostfix(t, env.sock, postfixEvents)
					m.connect("smtpd-tenant-a", "198.51.100.7")
					ms = append(ms, m)
				}
				over := dialPostfix(t, env.sock, postfixEvents)
				if over.Actions != 0 || over.Events&smfipNRAll != 0 {
					t.Errorf("over max_connections: negotiated actions %#x, steps %#x; want none", over.Actions, over.Events)
				}
				if got := over.connect("smtpd-tenant-a", "198.51.100.8"); got != "SMFIR_TEMPFAIL" {
					t.Errorf("over max_connections: SMFIC_CONNECT answered %q, want SMFIR_TEMPFAIL", got)
				}
				over.quit()
				servedNormally(t, ms[0], "a connection within max_connections")
				for _, m := range ms {
					m.quit()
				}
				for deadline := time.Now().Add(5 * time.Second); env.srv.Active() > 0; time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("%d connections still active", env.srv.Active())
					}
				}
				return nil
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t, envOptions{limits: tc.limits})
			m := tc.abuse(t, env)
			if m == nil {
				m = dialPostfix(t, env.sock, postfixEvents)
				m.connect("smtpd-tenant-a", "198.51.100.7")
			}
			servedNormally(t, m, "after the abuse")
			m.quit()
			limit, _, _ := strings.Cut(tc.name, ":")
			if n := metricValue(t, env, "edgerewrite_limit_hits_total"); n < 1 {
				t.Errorf("edgerewrite_limit_hits_total is %v", n)
			}
			if !strings.Contains(env.logs.String(), `"limit":"`+limit+`"`) {
				t.Errorf("no log line names the limit %s:\n%.2000s", limit, env.logs.String())
			}
			if heap := heapInUseMiB(); heap > limitsHeapMiB {
				t.Errorf("%.0f MiB of heap in use after the abuse, want under %d MiB", heap, limitsHeapMiB)
			}
		})
	}
}

// heapInUseMiB is the heap in use after a collection, in MiB.
func heapInUseMiB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapInuse) / (1 << 20)
}

// TestUnofferedActions: an MTA that offers neither SMFIF_CHGFROM nor SMFIF_CHGHDRS (nor
// adding recipients) gets none of those requests; the message is still answered, and the log
// says once what was not done.
func TestUnofferedActions(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	const offered = smfifDelRcpt | smfifQuarantine // no CHGFROM, CHGHDRS, ADDRCPT(_PAR)
	m := dialPostfixActions(t, env.sock, postfixEvents, offered)
	defer m.quit()
	if m.Actions&^offered != 0 {
		t.Errorf("the milter asked for actions %#x, the MTA offered %#x", m.Actions, uint32(offered))
	}
	m.connect("smtpd-tenant-a", "198.51.100.7")
	for range 2 {
		msg := postfixBenchMessage()
		msg.rcpts = append(msg.rcpts, decide.Rcpt{Addr: "bob@contoso.com"}) // would be replaced inbound
		res := m.send(msg)
		if want := []string{"SMFIR_ACCEPT"}; len(res.end) != 1 || res.end[0] != want[0] {
			t.Errorf("end of message %q, want only %q", res.end, want)
		}
		m.abort()
	}
	if n := strings.Count(env.logs.String(), "did not offer a milter action"); n < 1 || n > 3 {
		t.Errorf("%d log lines about actions not offered, want one per kind", n)
	}
}

// TestHeaderTooLongForPacket: an inbound To header of the largest size a milter packet carries,
// whose rewritten form would not fit one, stays as it is (the envelope recipient is still
// rewritten), is counted as left unparsed, and the message's log line says why; the message is
// accepted, not tempfailed on every retry.
func TestHeaderTooLongForPacket(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	m := dialPostfix(t, env.sock, postfixEvents)
	defer m.quit()
	m.connect("smtpd", "203.0.113.9")
	const addr = "bob@contoso.com" // inbound: bob@tenantb.contoso.com, 8 bytes longer
	// SMFIC_HEADER: command, "To\0", value, "\0": the value fills the packet.
	value := " (" + strings.Repeat("x", maxPacket-1-3-1-len(" () "+addr)) + ") " + addr
	res := m.send(mtaMessage{qid: "LONG", daemon: "smtpd", from: "ed@example.org",
		rcpts: []decide.Rcpt{{Addr: addr}}, headers: [][2]string{{"From", " ed@example.org"}, {"To", value}}})
	for _, r := range res.end {
		if strings.HasPrefix(r, "SMFIR_CHGHEADER") {
			t.Errorf("a header too long for a milter packet was changed")
		}
	}
	if len(res.end) < 2 || res.end[len(res.end)-1] != "SMFIR_ACCEPT" || !strings.Contains(strings.Join(res.end, " "), "bob@tenantb.contoso.com") {
		t.Errorf("end of message %.200q: want the recipient rewritten and the message accepted", res.end)
	}
	if n := metricValue(t, env, "edgerewrite_headers_unparsed_total"); n != 1 {
		t.Errorf("edgerewrite_headers_unparsed_total = %v, want 1", n)
	}
	if log := env.logs.String(); strings.Count(log, "too long for a milter packet") != 1 {
		t.Errorf("want one log line saying the header was too long:\n%.3000s", log)
	}
}
