package milter

import (
	"log/slog"
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/edgerewrite/edgerewrite/milter/decide"
	"github.com/edgerewrite/edgerewrite/policy"
	"github.com/edgerewrite/edgerewrite/rewrite"
)

// offers are the two MTAs of the no-reply session tests: Postfix 3.7 with milter_protocol = 6,
// which offers every SMFIP_NR_* step, and one that offers none (milter_protocol = 2, or an MTA
// like go-milter's client), whose every event must still be answered.
var offers = []struct {
	name  string
	steps uint32
	nr    bool
}{
	{"Postfix offers SMFIP_NR_*", postfixEvents, true},
	{"no SMFIP_NR_* offered", postfixEvents &^ smfipNRAll, false},
}

// answered is what a stage without a reply shows: "" where the MTA was told not to wait.
func answered(nr bool, reply string) string {
	if nr {
		return ""
	}
	return reply
}

func TestSession_Postfix_NoReplyKeepsTheStreamInStep(t *testing.T) {
	for _, o := range offers {
		t.Run(o.name, func(t *testing.T) {
			env := newTestEnv(t, envOptions{})
			m := dialPostfix(t, env.sock, o.steps)
			defer m.quit()
			wantNR := uint32(0)
			if o.nr {
				wantNR = smfipNRConn | smfipNRMail | smfipNRHdr
			}
			if m.Events&smfipNRAll != wantNR || m.Events&smfipNoEOH == 0 {
				t.Errorf("negotiated steps %#x: SMFIP_NR_* %#x, want %#x, and SMFIP_NOEOH", m.Events, m.Events&smfipNRAll, wantNR)
			}
			if got := m.connect("smtpd-tenant-a", "198.51.100.7"); got != answered(o.nr, "SMFIR_CONTINUE") {
				t.Errorf("SMFIC_CONNECT answered %q", got)
			}

			// Two messages over the connection: a reply out of step would show in the second.
			res := m.send(postfixBenchMessage())
			if res.mail != answered(o.nr, "SMFIR_CONTINUE") {
				t.Errorf("SMFIC_MAIL answered %q", res.mail)
			}
			if want := []string{"SMFIR_CONTINUE", "SMFIR_CONTINUE", "SMFIR_CONTINUE"}; !reflect.DeepEqual(res.rcpts, want) {
				t.Errorf("RCPT replies %q, want %q", res.rcpts, want)
			}
			if len(res.end) != 7 || res.end[0] != "SMFIR_CHGFROM <john@contoso.com>" || res.end[6] != "SMFIR_ACCEPT" {
				t.Errorf("end of message:\n %s", strings.Join(res.end, "\n "))
			}
			m.abort()

			res = m.send(mtaMessage{
				qid: "5AAA", daemon: "smtpd", from: "sender@example.net",
				rcpts: []decide.Rcpt{
					{Addr: "carol@contoso.com"},
					{Addr: "dave@fabrikam.com", Args: []string{"NOTIFY=DELAY"}},
				},
				headers: [][2]string{{"Subject", " hi"}, {"To", " dave@fabrikam.com"}},
			})
			wantRcpts := []string{"SMFIR_REPLYCODE 451 4.7.1 Mailbox moving, try again later", "SMFIR_CONTINUE"}
			if !reflect.DeepEqual(res.rcpts, wantRcpts) {
				t.Errorf("second message: RCPT replies %q, want %q", res.rcpts, wantRcpts)
			}
			wantEnd := []string{
				"SMFIR_DELRCPT <dave@fabrikam.com>",
				"SMFIR_ADDRCPT_PAR <dave@tenantb.contoso.com> NOTIFY=DELAY ORCPT=rfc822;dave@fabrikam.com",
				`SMFIR_CHGHEADER To[1]=" dave@tenantb.contoso.com"`,
				"SMFIR_ACCEPT",
			}
			if !reflect.DeepEqual(res.end, wantEnd) {
				t.Errorf("second message, end:\n got %s\nwant %s", strings.Join(res.end, "\n     "), strings.Join(wantEnd, "\n     "))
			}
			if lines := env.logLines(t); len(lines) != 2 || lines[0]["qid"] != "BENCH" || lines[1]["qid"] != "5AAA" {
				t.Errorf("log lines %v, want one per message", lines)
			}
		})
	}
}

// TestSession_Postfix_NoPolicyTempfailsAtRCPT: a message that finds no generation in service is
// deferred at each RCPT (the MTA does not wait for the answer to MAIL).
func TestSession_Postfix_NoPolicyTempfailsAtRCPT(t *testing.T) {
	for _, o := range offers {
		t.Run(o.name, func(t *testing.T) {
			logs := &logBuffer{}
			srv := NewServer(ServerOptions{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
			sock := filepath.Join(t.TempDir(), "milter.sock")
			l, err := net.Listen("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			go srv.Serve(l)
			t.Cleanup(func() { srv.Shutdown(t.Context()) })

			m := dialPostfix(t, sock, o.steps)
			defer m.quit()
			m.connect("smtpd", "198.51.100.7")
			msg := postfixBenchMessage()
			msg.rcpts = msg.rcpts[:2]
			res := m.send(msg)
			if res.mail != answered(o.nr, "SMFIR_CONTINUE") {
				t.Errorf("SMFIC_MAIL answered %q", res.mail)
			}
			want := "SMFIR_REPLYCODE 451 4.3.5 edgerewrite has no configuration loaded, try again later"
			if !reflect.DeepEqual(res.rcpts, []string{want, want}) {
				t.Errorf("RCPT replies %q, want %q twice", res.rcpts, want)
			}
			if !strings.Contains(logs.String(), "no configuration in service") {
				t.Errorf("not logged: %s", logs)
			}
		})
	}
}

// TestSession_Postfix_PanicWhereNoReply: a panic in a callback whose command gets no reply
// (here SMFIC_MAIL, taking the generation) answers nothing there; the message is
// deferred at its next answered command, and the next message on the connection is served.
func TestSession_Postfix_PanicWhereNoReply(t *testing.T) {
	for _, o := range offers {
		t.Run(o.name, func(t *testing.T) {
			var calls atomic.Int32
			env := newTestEnv(t, envOptions{generation: func(tb *rewrite.Table, pol *policy.Policy) func() *decide.Generation {
				return func() *decide.Generation {
					// The first call is the wire layer's, at SMFIC_OPTNEG; the second is SMFIC_MAIL's.
					if calls.Add(1) == 2 {
						panic("generation test panic")
					}
					return &decide.Generation{Policy: pol, Rules: tb.Snapshot(), Options: decide.Options{RewriteOutboundToCc: true}}
				}
			}})
			m := dialPostfix(t, env.sock, o.steps)
			defer m.quit()
			m.connect("smtpd-tenant-a", "198.51.100.7")
			msg := postfixBenchMessage()
			res := m.send(msg)
			if res.mail != answered(o.nr, "SMFIR_TEMPFAIL") {
				t.Errorf("SMFIC_MAIL answered %q", res.mail)
			}
			tempfail := "SMFIR_REPLYCODE 451 4.3.0 temporary failure in the address rewriting service, try again later"
			if res.rcpts[0] != tempfail {
				t.Errorf("RCPT after the panic answered %q, want %q", res.rcpts[0], tempfail)
			}
			m.abort()
			if res := m.send(msg); len(res.end) != 7 || res.end[6] != "SMFIR_ACCEPT" {
				t.Errorf("the next message: %q", res.end)
			}
			if p := metricValue(t, env, "edgerewrite_panics_total"); p != 1 {
				t.Errorf("panics_total = %v, want 1", p)
			}
		})
	}
}
