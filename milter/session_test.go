package milter

import (
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/edgerewrite/edgerewrite/milter/decide"
	"github.com/edgerewrite/edgerewrite/policy"
	"github.com/edgerewrite/edgerewrite/rewrite"
)

// Connect-stage macros of the two kinds of client.
var (
	tenantA  = []string{"{daemon_name}", "smtpd-tenant-a"}
	internet = []string{"{daemon_name}", "smtpd"}
)

func TestSession_EndOfMessageActions(t *testing.T) {
	tests := []struct {
		name     string
		macros   []string
		msg      testMessage
		wantRcpt []string
		wantEnd  []string
	}{{
		name:   "outbound: envelope sender and sender headers, To/Cc internal addresses",
		macros: tenantA,
		msg: testMessage{
			qid: "4AAA", from: "john@tenanta.contoso.com", args: []string{"RET=HDRS", "ENVID=x1"},
			rcpts: []decide.Rcpt{{Addr: "partner@example.net", Args: []string{"NOTIFY=SUCCESS"}}},
			headers: [][2]string{
				{"From", " John Doe <john@tenanta.contoso.com>"},
				{"To", " partner@example.net"},
				{"Cc", " \"Jane\" <jane@tenanta.contoso.com>,\n\tpartner@example.net"},
				{"Subject", " Hello"},
				{"Reply-To", " john@tenanta.contoso.com (John)"},
			},
		},
		wantRcpt: []string{"continue"},
		wantEnd: []string{
			"SMFIR_CHGFROM <john@contoso.com>",
			`SMFIR_CHGHEADER From[1]=" John Doe <john@contoso.com>"`,
			`SMFIR_CHGHEADER Cc[1]=" \"Jane\" <jane@contoso.com>,\n\tpartner@example.net"`,
			`SMFIR_CHGHEADER Reply-To[1]=" john@contoso.com (John)"`,
			"SMFIR_ACCEPT",
		},
	}, {
		name:   "inbound: recipients keep NOTIFY and ORCPT, To rewritten",
		macros: internet,
		msg: testMessage{
			qid: "4BBB", from: "sender@example.net",
			rcpts: []decide.Rcpt{
				{Addr: "bob@contoso.com", Args: []string{"NOTIFY=SUCCESS,DELAY", "ORCPT=rfc822;Bob@contoso.com"}},
				{Addr: "ann+news@contoso.com", Args: []string{"NOTIFY=NEVER"}},
				{Addr: "ann@tenanta.contoso.com"},
			},
			headers: [][2]string{
				{"From", " sender@example.net"},
				{"To", " Bob <bob@contoso.com>, ann+news@contoso.com"},
			},
		},
		wantRcpt: []string{"continue", "continue", "continue"},
		wantEnd: []string{
			"SMFIR_DELRCPT <bob@contoso.com>",
			"SMFIR_ADDRCPT_PAR <bob@tenantb.contoso.com> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;Bob@contoso.com",
			"SMFIR_DELRCPT <ann+news@contoso.com>",
			"SMFIR_ADDRCPT_PAR <ann+news@tenanta.contoso.com> NOTIFY=NEVER ORCPT=rfc822;ann+2Bnews@contoso.com",
			`SMFIR_CHGHEADER To[1]=" Bob <bob@tenantb.contoso.com>, ann+news@tenanta.contoso.com"`,
			"SMFIR_ACCEPT",
		},
	}, {
		name:   "hairpin: sender outbound and shared-domain recipient inbound in one pass",
		macros: tenantA,
		msg: testMessage{
			qid: "4CCC", from: "john@tenanta.contoso.com",
			rcpts:   []decide.Rcpt{{Addr: "bob@contoso.com"}},
			headers: [][2]string{{"From", " john@tenanta.contoso.com"}, {"To", " bob@contoso.com"}},
		},
		wantRcpt: []string{"continue"},
		wantEnd: []string{
			"SMFIR_CHGFROM <john@contoso.com>",
			"SMFIR_DELRCPT <bob@contoso.com>",
			"SMFIR_ADDRCPT_PAR <bob@tenantb.contoso.com> ORCPT=rfc822;bob@contoso.com",
			`SMFIR_CHGHEADER From[1]=" john@contoso.com"`,
			"SMFIR_ACCEPT",
		},
	}, {
		name:   "folding survives: a CRLF-folded value goes back LF-folded (Postfix's line end)",
		macros: tenantA,
		msg: testMessage{
			qid: "4CCD", from: "jane@tenanta.contoso.com",
			rcpts:   []decide.Rcpt{{Addr: "partner@example.net"}},
			headers: [][2]string{{"From", "\tJane\r\n <jane@tenanta.contoso.com>"}},
		},
		wantRcpt: []string{"continue"},
		wantEnd: []string{
			"SMFIR_CHGFROM <jane@contoso.com>",
			`SMFIR_CHGHEADER From[1]="\tJane\n <jane@contoso.com>"`,
			"SMFIR_ACCEPT",
		},
	}, {
		name:   "null sender is never rewritten",
		macros: tenantA,
		msg: testMessage{
			qid: "4DDD", from: "",
			rcpts:   []decide.Rcpt{{Addr: "partner@example.net"}},
			headers: [][2]string{{"Subject", " Undeliverable"}},
		},
		wantRcpt: []string{"continue"},
		wantEnd:  []string{"SMFIR_ACCEPT"},
	}, {
		name:   "two recipients that become one address: delivered once",
		macros: internet,
		msg: testMessage{
			qid: "4EEE", from: "sender@example.net",
			rcpts: []decide.Rcpt{
				{Addr: "Ann@contoso.com", Args: []string{"NOTIFY=FAILURE"}},
				{Addr: "ann@contoso.com"},
			},
		},
		wantRcpt: []string{"continue", "continue"},
		wantEnd: []string{
			"SMFIR_DELRCPT <Ann@contoso.com>",
			"SMFIR_ADDRCPT_PAR <Ann@tenanta.contoso.com> NOTIFY=FAILURE ORCPT=rfc822;Ann@contoso.com",
			"SMFIR_DELRCPT <ann@contoso.com>",
			"SMFIR_ACCEPT",
		},
	}, {
		name:   "hold: rewritten and quarantined",
		macros: internet,
		msg: testMessage{
			qid: "4FFF", from: "sender@example.net",
			rcpts:   []decide.Rcpt{{Addr: "held@contoso.com"}},
			headers: [][2]string{{"To", " held@contoso.com"}},
		},
		wantRcpt: []string{"continue"},
		wantEnd: []string{
			"SMFIR_DELRCPT <held@contoso.com>",
			"SMFIR_ADDRCPT_PAR <held@tenanta.contoso.com> ORCPT=rfc822;held@contoso.com",
			`SMFIR_CHGHEADER To[1]=" held@tenanta.contoso.com"`,
			"SMFIR_QUARANTINE cutover held@contoso.com: held for the cutover",
			"SMFIR_ACCEPT",
		},
	}, {
		name:   "tenant attribution fails: refused at end of message with the policy's reply",
		macros: tenantA,
		msg: testMessage{
			qid: "4GGG", from: "mallory@fabrikam.com",
			rcpts:   []decide.Rcpt{{Addr: "partner@example.net"}},
			headers: [][2]string{{"From", " mallory@fabrikam.com"}},
		},
		wantRcpt: []string{"continue"},
		wantEnd:  []string{"SMFIR_REPLYCODE 550 5.7.1 sender domain fabrikam.com is not allowed for tenant tenant-a"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t, envOptions{})
			addr := "203.0.113.5"
			c := env.connect(t, addr, tc.macros...)
			res := c.send(tc.msg)
			if !reflect.DeepEqual(res.rcpts, tc.wantRcpt) {
				t.Errorf("RCPT replies = %q, want %q", res.rcpts, tc.wantRcpt)
			}
			if !reflect.DeepEqual(res.end, tc.wantEnd) {
				t.Errorf("end of message:\n got %s\nwant %s", strings.Join(res.end, "\n     "), strings.Join(tc.wantEnd, "\n     "))
			}
			if lines := env.logLines(t); len(lines) != 1 || lines[0]["qid"] != tc.msg.qid {
				t.Errorf("want one log line for %s, got %v", tc.msg.qid, lines)
			}
		})
	}
}

func TestSession_RCPT_PolicyRefusals(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	c := env.connect(t, "203.0.113.5", internet...)
	res := c.send(testMessage{
		qid: "5AAA", from: "sender@example.net",
		rcpts: []decide.Rcpt{
			{Addr: "nobody@fabrikam.com"},
			{Addr: "carol@contoso.com"},
			{Addr: "someone@example.org"},
			{Addr: "dave@fabrikam.com", Args: []string{"NOTIFY=DELAY"}},
		},
		headers: [][2]string{{"To", " dave@fabrikam.com"}},
	})
	want := []string{
		"550 5.1.1 <nobody@fabrikam.com>: recipient address rejected: unknown in the shared domain fabrikam.com",
		"451 4.7.1 Mailbox moving, try again later",
		"554 5.7.1 <someone@example.org>: relay access denied",
		"continue",
	}
	if !reflect.DeepEqual(res.rcpts, want) {
		t.Errorf("RCPT replies:\n got %q\nwant %q", res.rcpts, want)
	}
	wantEnd := []string{
		"SMFIR_DELRCPT <dave@fabrikam.com>",
		"SMFIR_ADDRCPT_PAR <dave@tenantb.contoso.com> NOTIFY=DELAY ORCPT=rfc822;dave@fabrikam.com",
		`SMFIR_CHGHEADER To[1]=" dave@tenantb.contoso.com"`,
		"SMFIR_ACCEPT",
	}
	if !reflect.DeepEqual(res.end, wantEnd) {
		t.Errorf("end of message:\n got %q\nwant %q", res.end, wantEnd)
	}
	lines := env.logLines(t)
	if len(lines) != 1 {
		t.Fatalf("want one log line, got %v", lines)
	}
	l := lines[0]
	if l["verdict"] != "accept" || l["from"] != "sender@example.net" || len(l["refused"].([]any)) != 3 {
		t.Errorf("log line misses the deferred attempt record: %v", l)
	}
}

func TestSession_AllRecipientsDeferred_LoggedAtAbort(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	c := env.connect(t, "203.0.113.5", internet...)
	if err := c.s.Macros('M', "i", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.s.Mail("sender@example.net", nil); err != nil {
		t.Fatal(err)
	}
	act, err := c.s.Rcpt("carol@contoso.com", []string{"NOTIFY=NEVER"})
	if err != nil || describeAction(act) != "451 4.7.1 Mailbox moving, try again later" {
		t.Fatalf("RCPT = %v, %v", describeAction(act), err)
	}
	if err := c.s.Abort(); err != nil {
		t.Fatal(err)
	}
	// The next command proves the milter processed the abort before we look at the log.
	if _, err := c.s.Mail("other@example.net", nil); err != nil {
		t.Fatal(err)
	}
	lines := env.logLines(t)
	if len(lines) != 1 || lines[0]["verdict"] != "tempfail" || lines[0]["from"] != "sender@example.net" {
		t.Errorf("want one tempfail line recording the deferred attempt, got %v", lines)
	}
}

func TestSession_SecondMessageKeepsConnectorAttribution(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	c := env.connect(t, "198.51.100.7", tenantA...)
	msg := testMessage{
		from:    "john@tenanta.contoso.com",
		rcpts:   []decide.Rcpt{{Addr: "partner@example.net"}},
		headers: [][2]string{{"From", " john@tenanta.contoso.com"}},
	}
	want := []string{"SMFIR_CHGFROM <john@contoso.com>", `SMFIR_CHGHEADER From[1]=" john@contoso.com"`, "SMFIR_ACCEPT"}
	for i, qid := range []string{"6AAA", "6BBB", "6CCC"} {
		msg.qid = qid
		res := c.send(msg)
		if !reflect.DeepEqual(res.rcpts, []string{"continue"}) || !reflect.DeepEqual(res.end, want) {
			t.Errorf("message %d on the connection: RCPT %q, end %q; want outbound rewriting %q", i+1, res.rcpts, res.end, want)
		}
		if i == 1 {
			if err := c.s.Abort(); err != nil { // Postfix's RSET between messages
				t.Fatal(err)
			}
		}
	}
	for _, l := range env.logLines(t) {
		if l["connector"] != "tenant-a" || l["direction"] != "outbound" {
			t.Errorf("log line lost the connector: %v", l)
		}
	}
}

func TestSession_AbortResetsTheMessage(t *testing.T) {
	env := newTestEnv(t, envOptions{})
	c := env.connect(t, "203.0.113.5", internet...)
	if _, err := c.s.Mail("first@example.net", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.s.Rcpt("bob@contoso.com", []string{"NOTIFY=NEVER"}); err != nil {
		t.Fatal(err)
	}
	if err := c.s.Abort(); err != nil {
		t.Fatal(err)
	}
	res := c.send(testMessage{qid: "7AAA", from: "second@example.net", rcpts: []decide.Rcpt{{Addr: "ann@contoso.com"}}})
	want := []string{
		"SMFIR_DELRCPT <ann@contoso.com>",
		"SMFIR_ADDRCPT_PAR <ann@tenanta.contoso.com> ORCPT=rfc822;ann@contoso.com",
		"SMFIR_ACCEPT",
	}
	if !reflect.DeepEqual(res.end, want) {
		t.Errorf("after SMFIC_ABORT: %q, want %q", res.end, want)
	}
}

func TestSession_PanicTempfailsTheMessageAndServesOn(t *testing.T) {
	var boom atomic.Bool
	env := newTestEnv(t, envOptions{generation: func(tb *rewrite.Table, pol *policy.Policy) func() *decide.Generation {
		return func() *decide.Generation {
			if boom.Swap(false) {
				panic("test panic while taking the generation")
			}
			return &decide.Generation{Policy: pol, Rules: tb.Snapshot(), Options: decide.Options{RewriteOutboundToCc: true}}
		}
	}})
	c := env.connect(t, "203.0.113.5", internet...)
	boom.Store(true)
	res := c.send(testMessage{qid: "8AAA", from: "sender@example.net", rcpts: []decide.Rcpt{{Addr: "bob@contoso.com"}}})
	if res.mail != "tempfail" {
		t.Errorf("MAIL after a panic = %q, want tempfail", res.mail)
	}
	if !reflect.DeepEqual(res.rcpts, []string{"451 4.3.0 temporary failure in the address rewriting service, try again later"}) ||
		!reflect.DeepEqual(res.end, []string{"SMFIR_REPLYCODE 451 4.3.0 temporary failure in the address rewriting service, try again later"}) {
		t.Errorf("rest of the message after a panic: RCPT %q, end %q; want temporary failures", res.rcpts, res.end)
	}
	if got := metricValue(t, env, "edgerewrite_panics_total"); got != 1 {
		t.Errorf("panics_total = %v, want 1", got)
	}
	for _, cl := range []*milterClient{c, env.connect(t, "203.0.113.6", internet...)} {
		res = cl.send(testMessage{qid: "8BBB", from: "sender@example.net", rcpts: []decide.Rcpt{{Addr: "bob@contoso.com"}}})
		if len(res.end) != 3 || res.end[2] != "SMFIR_ACCEPT" {
			t.Errorf("message after the panic: %q, want a rewritten recipient and accept", res.end)
		}
	}
}

func TestSession_ObserveChangesAndRefusesNothing(t *testing.T) {
	env := newTestEnv(t, envOptions{observe: true})
	c := env.connect(t, "203.0.113.5", internet...)
	res := c.send(testMessage{
		qid: "9AAA", from: "sender@example.net",
		rcpts:   []decide.Rcpt{{Addr: "carol@contoso.com"}, {Addr: "bob@contoso.com"}},
		headers: [][2]string{{"To", " bob@contoso.com"}},
	})
	if !reflect.DeepEqual(res.rcpts, []string{"continue", "continue"}) || !reflect.DeepEqual(res.end, []string{"SMFIR_ACCEPT"}) {
		t.Errorf("observe mode: RCPT %q, end %q; want nothing refused or changed", res.rcpts, res.end)
	}
	lines := env.logLines(t)
	if len(lines) != 1 || lines[0]["verdict"] != "accept" || lines[0]["observe"] != "accept" || len(lines[0]["rewrites"].([]any)) != 3 || len(lines[0]["refused"].([]any)) != 1 {
		t.Errorf("observe log line should show the rewrites and refusals not made: %v", lines)
	}
}

func TestSession_StrictExchangeLeavesToCc(t *testing.T) {
	env := newTestEnv(t, envOptions{options: &decide.Options{RewriteOutboundToCc: false}})
	c := env.connect(t, "198.51.100.7", tenantA...)
	res := c.send(testMessage{
		qid: "AAAA", from: "john@tenanta.contoso.com",
		rcpts:   []decide.Rcpt{{Addr: "partner@example.net"}},
		headers: [][2]string{{"From", " john@tenanta.contoso.com"}, {"Cc", " jane@tenanta.contoso.com"}},
	})
	want := []string{"SMFIR_CHGFROM <john@contoso.com>", `SMFIR_CHGHEADER From[1]=" john@contoso.com"`, "SMFIR_ACCEPT"}
	if !reflect.DeepEqual(res.end, want) {
		t.Errorf("rewrite_outbound_to_cc = false: %q, want %q", res.end, want)
	}
}
