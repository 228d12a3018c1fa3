package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/pelletier/go-toml/v2"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// The example's listeners, as its master.cf names them.
const (
	publicMX     = "203.0.113.25:smtp"
	connectorA   = "203.0.113.26:smtp"
	connectorB   = "203.0.113.27:smtp"
	exchangeIP   = "127.0.0.2" // stands in for Exchange Online's outbound servers
	internetIP   = "127.0.0.3" // stands in for a server on the Internet
	exchangeEHLO = "NAM11-BN8-obe.outbound.protection.outlook.com"
)

// sample is one message the demo sends and what must come of it.
type sample struct {
	title string
	// via is the example's listener it is sent to; fromExchange: with Exchange Online's client
	// certificate (a tenant's outbound connector), otherwise from an Internet server.
	via          string
	fromExchange bool
	env          harness.Envelope
	// show are the header fields printed before -> after; calendar, the calendar properties
	// (ORGANIZER, ATTENDEE) whose lines are printed before -> after.
	show     []string
	calendar []string
	// before, when set, runs just before the sample is sent (the cutover window opens).
	before *configStep

	// Delivered: where it must arrive ("the Internet", "tenant A", "tenant B"), the envelope
	// there, header field values (unfolded), and the client certificate Postfix presented.
	wantAt    string
	wantFrom  string
	wantRcpts []string // "<addr> PARAM=..." exactly as the next hop received them
	wantHdr   map[string]string
	wantCal   map[string]string // calendar property -> its delivered line (unfolded)
	wantCN    string
	// Refused: the reply the client must get (code and enhanced status, then the text when
	// wantText is set).
	wantReply string
	wantText  string
}

// configStep is an edit of edgerewrite.toml made during the demo.
type configStep struct {
	what string // for the output
	text string // appended to edgerewrite.toml
}

var cutoverTableRE = regexp.MustCompile(`(?m)^\[\[cutover\]\]`)

// cutoverStep is the cutover window of postfix-examples/cutover opening on this gateway: that
// folder's [[cutover]] tables, appended as they are (its README: "add these tables when the
// window opens"). It returns the step and the defer text a sender then gets.
func cutoverStep(root string) (*configStep, string, error) {
	path := filepath.Join(root, "postfix-examples", "cutover", "edgerewrite.toml")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	loc := cutoverTableRE.FindIndex(b)
	if loc == nil {
		return nil, "", fmt.Errorf("%s has no [[cutover]] table", path)
	}
	tables := string(b[loc[0]:])
	var parsed struct {
		Cutover []struct{ Match, Action, Text string }
	}
	if err := toml.Unmarshal([]byte(tables), &parsed); err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	for _, c := range parsed.Cutover {
		if c.Action == "defer" && c.Match == "fabrikam.com" {
			return &configStep{
				what: "cutover window opens: postfix-examples/cutover's [[cutover]] tables added to edgerewrite.toml (reloaded, no restart)",
				text: "\n# Appended by the demo: the cutover window of postfix-examples/cutover.\n" + tables,
			}, c.Text, nil
		}
	}
	return nil, "", fmt.Errorf("%s: no [[cutover]] with match = \"fabrikam.com\" and action = \"defer\"", path)
}

// samples are the demo's messages, in the order they are sent.
func samples(root string) ([]*sample, error) {
	cutover, deferText, err := cutoverStep(root)
	if err != nil {
		return nil, err
	}
	msg := func(id string, h ...string) []byte {
		return harness.BuildMessage(append(h, "Message-ID: <"+id+">", "Date: Mon, 23 Nov 2026 09:00:00 +0000"), "Hello.\n")
	}
	return []*sample{{
		title: "Outbound from tenant A", via: connectorA, fromExchange: true,
		env: harness.Envelope{
			From: "john@tenanta.contoso.com", RET: "HDRS", ENVID: "demo-1",
			Rcpts: []harness.RcptTo{{Addr: "partner@fabrikam.example", Notify: "SUCCESS,FAILURE"}},
			Data: msg("demo-1@tenanta.contoso.com", `From: "John Smith" <john@tenanta.contoso.com>`,
				"To: Partner <partner@fabrikam.example>", "Cc: Jane Doe <j.doe@tenanta.contoso.com>",
				"Reply-To: john@tenanta.contoso.com", "Subject: Quarterly numbers"),
		},
		show:     []string{"From", "To", "Cc", "Reply-To"},
		wantAt:   "the Internet",
		wantFrom: "john@contoso.com", wantRcpts: []string{"<partner@fabrikam.example> ORCPT=rfc822;partner@fabrikam.example NOTIFY=SUCCESS,FAILURE"},
		wantHdr: map[string]string{"From": `"John Smith" <john@contoso.com>`, "Cc": "Jane Doe <jane.doe@contoso.com>", "Reply-To": "john@contoso.com"},
	}, {
		title: "Outbound from tenant B (a rule from the Exchange CSV export)", via: connectorB, fromExchange: true,
		env: harness.Envelope{
			From: "ahmed.khan@tenantb.contoso.com", Rcpts: harness.Rcpts("partner@fabrikam.example"),
			Data: msg("demo-2@tenantb.contoso.com", "From: Ahmed Khan <ahmed.khan@tenantb.contoso.com>",
				"To: partner@fabrikam.example", "Subject: Invoice 2026-117"),
		},
		show:   []string{"From", "To"},
		wantAt: "the Internet", wantFrom: "a.khan@contoso.com", wantRcpts: []string{"<partner@fabrikam.example> ORCPT=rfc822;partner@fabrikam.example"},
		wantHdr: map[string]string{"From": "Ahmed Khan <a.khan@contoso.com>"},
	}, {
		title: "A reply from the Internet to john@contoso.com goes back into tenant A", via: publicMX,
		env: harness.Envelope{
			From:  "partner@fabrikam.example",
			Rcpts: []harness.RcptTo{{Addr: "john@contoso.com", Notify: "SUCCESS,FAILURE"}},
			Data: msg("demo-3@fabrikam.example", "From: Partner <partner@fabrikam.example>",
				`To: "John Smith" <john@contoso.com>`, "Subject: Re: Quarterly numbers"),
		},
		show:   []string{"From", "To"},
		wantAt: "tenant A", wantFrom: "partner@fabrikam.example", wantCN: "tenanta.contoso.com",
		wantRcpts: []string{"<john@tenanta.contoso.com> ORCPT=rfc822;john@contoso.com NOTIFY=SUCCESS,FAILURE"},
		wantHdr:   map[string]string{"To": `"John Smith" <john@tenanta.contoso.com>`},
	}, {
		title: "Hairpin: Mary in tenant B writes to john@contoso.com in tenant A", via: connectorB, fromExchange: true,
		env: harness.Envelope{
			From: "mary@tenantb.contoso.com", Rcpts: harness.Rcpts("john@contoso.com"),
			Data: msg("demo-4@tenantb.contoso.com", "From: Mary <mary@tenantb.contoso.com>",
				"To: John <john@contoso.com>", "Subject: Lunch?"),
		},
		show:   []string{"From", "To"},
		wantAt: "tenant A", wantFrom: "mary@contoso.com", wantCN: "tenanta.contoso.com",
		wantRcpts: []string{"<john@tenanta.contoso.com> ORCPT=rfc822;john@contoso.com"},
		// To stays john@contoso.com: a tenant's outbound message gets To/Cc rewritten outbound only.
		wantHdr: map[string]string{"From": "Mary <mary@contoso.com>", "To": "John <john@contoso.com>"},
	}, {
		title: "Meeting response: John in tenant A accepts a partner's invitation", via: connectorA, fromExchange: true,
		env: harness.Envelope{
			From: "john@tenanta.contoso.com", Rcpts: harness.Rcpts("partner@fabrikam.example"),
			Data: harness.BuildMessage([]string{`From: "John Smith" <john@tenanta.contoso.com>`,
				"To: Partner <partner@fabrikam.example>", "Subject: Accepted: Quarterly review",
				"Message-ID: <demo-cal@tenanta.contoso.com>", "Date: Mon, 23 Nov 2026 09:00:00 +0000",
				"MIME-Version: 1.0", `Content-Type: multipart/alternative; boundary="b1"`},
				"--b1\nContent-Type: text/plain; charset=utf-8\n\nAccepted.\n"+
					"--b1\nContent-Type: text/calendar; charset=utf-8; method=REPLY\n\n"+
					"BEGIN:VCALENDAR\nMETHOD:REPLY\nBEGIN:VEVENT\n"+
					"ORGANIZER;CN=Partner:mailto:partner@fabrikam.example\n"+
					"ATTENDEE;PARTSTAT=ACCEPTED;CN=John Smith:mailto:john@tenanta.contoso.com\n"+
					"UID:040000008200E00074C5B7101A82E008\nEND:VEVENT\nEND:VCALENDAR\n--b1--\n"),
		},
		show:     []string{"From"},
		calendar: []string{"ORGANIZER", "ATTENDEE"},
		wantAt:   "the Internet", wantFrom: "john@contoso.com",
		wantRcpts: []string{"<partner@fabrikam.example> ORCPT=rfc822;partner@fabrikam.example"},
		wantHdr:   map[string]string{"From": `"John Smith" <john@contoso.com>`},
		// The partner's calendar matches the reply to the invitation it sent to john@contoso.com.
		wantCal: map[string]string{"ATTENDEE": "ATTENDEE;PARTSTAT=ACCEPTED;CN=John Smith:mailto:john@contoso.com",
			"ORGANIZER": "ORGANIZER;CN=Partner:mailto:partner@fabrikam.example"},
	}, {
		title: "Spoofing: tenant B's sender on tenant A's connector", via: connectorA, fromExchange: true,
		env: harness.Envelope{
			From: "mary@tenantb.contoso.com", Rcpts: harness.Rcpts("partner@fabrikam.example"),
			Data: msg("demo-5@tenantb.contoso.com", "From: Mary <mary@tenantb.contoso.com>",
				"To: partner@fabrikam.example", "Subject: Please pay this invoice"),
		},
		show:      []string{"From"},
		wantReply: "550 5.7.1",
	}, {
		title: "Cutover: fabrikam.com is moving between tenants, mail to it is deferred", via: connectorA, fromExchange: true,
		before: cutover,
		env: harness.Envelope{
			From: "john@tenanta.contoso.com", Rcpts: harness.Rcpts("bob@fabrikam.com"),
			Data: msg("demo-6@tenanta.contoso.com", `From: "John Smith" <john@tenanta.contoso.com>`,
				"To: Bob <bob@fabrikam.com>", "Subject: Contract"),
		},
		show:      []string{"From", "To"},
		wantReply: "451 4.7.1", wantText: deferText,
	}}, nil
}

// envelope makes the sample's envelope for its client.
func (s *sample) envelope(e *env) harness.Envelope {
	env := s.env
	if s.fromExchange {
		env.LocalAddr, env.Helo, env.TLS = exchangeIP, exchangeEHLO, e.ca.ClientTLS(e.eop, "localhost")
	} else {
		env.LocalAddr, env.Helo = internetIP, "mail.fabrikam.example"
	}
	return env
}

// listenerName describes the listener a sample goes to.
func listenerName(via string) string {
	switch via {
	case publicMX:
		return "the public MX"
	case connectorA:
		return "tenant A's connector"
	case connectorB:
		return "tenant B's connector"
	}
	return via
}
