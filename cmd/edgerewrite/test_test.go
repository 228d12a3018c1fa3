package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestTestCommand(t *testing.T) {
	cfg := []string{"test", "-c", "testdata/ok/edgerewrite.toml"}
	tenantA := []string{"--daemon-name", "smtpd-tenants", "--cert-subject", "relay.tenanta.contoso.com"}
	args := func(parts ...[]string) []string {
		out := append([]string(nil), cfg...)
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name  string
		args  []string
		code  int
		wants []string
	}{
		{"outbound", args(tenantA, []string{"--from", "john@tenanta.contoso.com", "--rcpt", "bob@example.net",
			"--header", `From: "Smith, John" <john@tenanta.contoso.com>`, "--header", "To: Bob <bob@example.net>",
			"--header", "Subject: hi"}), exitOK, []string{
			"direction:  outbound, connector tenant-a, tenant tenant-a",
			"  MAIL FROM <john@tenanta.contoso.com>\n         -> <john@contoso.com>  by testdata/ok/rules/contoso.rules:2 (john@tenanta.contoso.com -> john@contoso.com)",
			"  RCPT TO   <bob@example.net>  (unchanged)",
			`  From: "Smith, John" <john@tenanta.contoso.com>` + "\n" + `  -> From: "Smith, John" <john@contoso.com>`,
			"  To: Bob <bob@example.net>  (unchanged)",
			"  Subject: hi  (unchanged)",
			"SMFIR_CHGFROM <john@contoso.com>",
			"result:     accepted, with 2 rewrites (exit 0)",
		}},
		{"outbound sender outside the tenant's domains", args(tenantA, []string{"--from", "ann@legal.contoso.com",
			"--rcpt", "bob@example.net"}), exitRefused, []string{"reject 550 5.7.1"}},
		{"inbound", args([]string{"--client-addr", "203.0.113.5", "--from", "alice@example.net",
			"--rcpt", "john@contoso.com NOTIFY=SUCCESS,FAILURE", "--header", "To: John <john@contoso.com>"}), exitOK, []string{
			"direction:  inbound (no connector matched: the Internet)",
			"  RCPT TO   <john@contoso.com> NOTIFY=SUCCESS,FAILURE\n         -> <john@tenanta.contoso.com>  by testdata/ok/rules/contoso.rules:2",
			"  -> To: John <john@tenanta.contoso.com>",
			"SMFIR_ADDRCPT_PAR <john@tenanta.contoso.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;john@contoso.com",
			"result:     accepted, with 2 rewrites (exit 0)",
		}},
		{"inbound To covered by a DKIM signature", args([]string{"--client-addr", "203.0.113.5", "--from", "alice@example.net",
			"--rcpt", "john@contoso.com", "--header", "DKIM-Signature: v=1; d=example.net; s=s1; h=From : To; bh=x; b=y",
			"--header", "To: John <john@contoso.com>"}), exitOK, []string{
			"         -> <john@tenanta.contoso.com>  by testdata/ok/rules/contoso.rules:2",
			"  To: John <john@contoso.com>\n     (left as it is: a DKIM signature covers it; inbound_header_rewrite = \"always\" would make it\n      To: John <john@tenanta.contoso.com>)",
			"milter actions:\n  SMFIR_DELRCPT <john@contoso.com>\n  SMFIR_ADDRCPT_PAR <john@tenanta.contoso.com> ORCPT=rfc822;john@contoso.com\n\n",
			"result:     accepted, with 1 rewrite (exit 0)",
		}},
		{"inbound unknown recipient", args([]string{"--client-addr", "203.0.113.5", "--from", "alice@example.net",
			"--rcpt", "john@contoso.com", "--rcpt", "nobody@contoso.com"}), exitRefused, []string{
			"<nobody@contoso.com>                     reject 550 5.1.1",
			"RCPT TO   <nobody@contoso.com>  (refused at RCPT: reject)",
			"accepted for some recipients, with 1 rewrite; others refused or deferred (exit 2)",
		}},
		{"relay protection", args([]string{"--from", "alice@example.net", "--rcpt", "carol@example.org"}), exitRefused,
			[]string{"reject 554 5.7.1", "result:     refused (exit 2)"}},
		{"hairpin", args(tenantA, []string{"--from", "john@tenanta.contoso.com", "--rcpt", "mary@contoso.com"}), exitOK, []string{
			"         -> <john@contoso.com>  by testdata/ok/rules/contoso.rules:2",
			"  RCPT TO   <mary@contoso.com>\n         -> <mary@tenantb.contoso.com>  by testdata/ok/rules/contoso.rules:3",
		}},
		{"spoofed tenant", args(tenantA, []string{"--from", "mary@tenantb.contoso.com", "--rcpt", "bob@example.net"}), exitRefused, []string{
			"message:    reject 550 5.7.1 sender domain tenantb.contoso.com is not allowed for tenant tenant-a",
			"nothing is rewritten: the message is not accepted",
		}},
		{"cutover defer in window", args([]string{"--from", "alice@example.net", "--rcpt", "x@fabrikam.com",
			"--now", "2026-11-23T21:00:00Z"}), exitRefused, []string{
			"tempfail 451 4.7.1 Mailbox moving, try again later (cutover-defer: fabrikam.com)",
			"result:     deferred: the client is told to try again later (exit 2)",
		}},
		{"cutover defer outside window", args([]string{"--from", "alice@example.net", "--rcpt", "x@fabrikam.com",
			"--now", "2026-11-24T09:00:00Z"}), exitOK, []string{"result:     accepted, with no rewrite (exit 0)"}},
		{"cutover hold", args([]string{"--from", "alice@example.net", "--rcpt", "y@litware.com"}), exitRefused, []string{
			"message:    hold (cutover-hold: litware.com)", "held in Postfix's hold queue (exit 2)"}},
		{"null sender", args([]string{"--from", "<>", "--rcpt", "john@contoso.com"}), exitOK, []string{
			"MAIL FROM <>  (null sender: never rewritten)"}},
		{"calendar data of a meeting invitation", args(tenantA, []string{"--message", "../../rewrite/testdata/calendar/outlook-request.eml"}), exitOK, []string{
			"calendar:\n  part 3  ORGANIZER;CN=John Smith:mailto:john@tenanta.contoso.com\n  -> ORGANIZER;CN=John Smith:mailto:john@contoso.com\n       john@tenanta.contoso.com -> john@contoso.com  by testdata/ok/rules/contoso.rules:2",
			"SMFIR_REPLBODY (",
		}},
		{"message file", args(tenantA, []string{"--message", "testdata/messages/outbound.eml"}), exitOK, []string{
			"note: envelope sender <john@tenanta.contoso.com> taken from Return-Path",
			"note: envelope recipients taken from To, Cc and Bcc",
			"  To: Bob <bob@example.net>,\n     Mary <mary@contoso.com>  (unchanged)",
			"  Message-ID: <123@tenanta.contoso.com>  (unchanged)",
			"  RCPT TO   <mary@contoso.com>\n         -> <mary@tenantb.contoso.com>",
		}},
		{"observe: nothing is refused or sent", []string{"test", "-c", "testdata/observe/edgerewrite.toml", "--client-addr", "203.0.113.5",
			"--from", "alice@example.net", "--rcpt", "john@contoso.com", "--rcpt", "nobody@contoso.com",
			"--header", "To: John <john@contoso.com>"}, exitOK, []string{
			"mode:       OBSERVE",
			"(unknown-recipient: contoso.com)  [observe: not applied]",
			"         -> <john@tenanta.contoso.com>  by testdata/ok/rules/contoso.rules:2 (john@tenanta.contoso.com -> john@contoso.com)  [observe: not applied]",
			"  -> To: John <john@tenanta.contoso.com>  [observe: not applied]",
			"milter actions: NONE SENT (observe mode); without observe mode these would be sent:\n  (not sent) SMFIR_DELRCPT <john@contoso.com>\n  (not sent) SMFIR_ADDRCPT_PAR",
			"  (not sent) SMFIR_CHGHEADER To[1]: John <john@tenanta.contoso.com>",
			"result:     accepted unchanged (observe mode; would be: accept for some recipients, others refused or deferred, with 2 rewrites) (exit 0)",
		}},
		{"observe: a refused message is marked as not refused", []string{"test", "-c", "testdata/observe/edgerewrite.toml",
			"--from", "alice@example.net", "--rcpt", "carol@example.org"}, exitOK, []string{
			"reject 554 5.7.1", "[observe: not applied]", "result:     accepted unchanged (observe mode; would be: reject) (exit 0)",
		}},
		{"bad client address", args([]string{"--client-addr", "nope", "--from", "a@example.net", "--rcpt", "b@example.net"}),
			exitUsage, []string{`--client-addr "nope" is not an IP address`}},
		{"bad header", args([]string{"--from", "a@example.net", "--rcpt", "b@example.net", "--header", "no colon"}),
			exitUsage, []string{`--header "no colon": want "Name: value"`}},
		{"bad time", args([]string{"--from", "a@example.net", "--rcpt", "b@example.net", "--now", "tomorrow"}),
			exitUsage, []string{`--now "tomorrow": want RFC 3339`}},
		{"no sender", args([]string{"--rcpt", "b@example.net"}), exitUsage, []string{"no envelope sender"}},
		{"no recipient", args([]string{"--from", "a@example.net"}), exitUsage, []string{"no recipient"}},
		{"broken rules", []string{"test", "-c", "testdata/badrules/edgerewrite.toml", "--from", "a@example.net",
			"--rcpt", "b@example.net"}, exitProblem, []string{"testdata/badrules/rules/a.rules:2: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := edgerewrite(t, tt.args...)
			expect(t, code, out, errOut, tt.code, tt.wants...)
		})
	}
}

func TestTestMessageFromStdin(t *testing.T) {
	msg, err := os.ReadFile("testdata/messages/outbound.eml")
	if err != nil {
		t.Fatal(err)
	}
	a := &testArgs{cfg: "testdata/ok/edgerewrite.toml", daemonName: "smtpd-tenants", certSubject: "relay.tenanta.contoso.com",
		message: "-", rcpts: listFlag{"bob@example.net"}}
	var stdout, stderr bytes.Buffer
	code := runTest(a, bytes.NewReader(bytes.ReplaceAll(msg, []byte("\n"), []byte("\r\n"))), &stdout, &stderr)
	expect(t, code, stdout.String(), stderr.String(), exitOK,
		`  -> From: "Smith, John" <john@contoso.com>`, "  To: Bob <bob@example.net>,\n     Mary <mary@contoso.com>  (unchanged)")
	if strings.Contains(stdout.String(), "\r") {
		t.Error("CR left in the output")
	}
}
