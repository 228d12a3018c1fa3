package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// deliveryTimeout bounds the wait for one message at its next hop.
const deliveryTimeout = 10 * time.Second

// run is the whole demo: start, send every sample, print, tear down. It returns nil only when
// every sample behaved as expected and the teardown left nothing behind.
func run(ctx context.Context, out io.Writer, bin string) (err error) {
	started := time.Now()
	root, err := repoRoot()
	if err != nil {
		return err
	}
	if bin, err = checkBin(bin); err != nil {
		return err
	}
	smp, err := samples(root)
	if err != nil {
		return err
	}
	if err := harness.CheckPostfix(); err != nil {
		return err
	}
	p := newPrinter(out)
	p.printf("edgerewrite demo: postfix-examples/%s in a throwaway Postfix, with edgerewrite and recording next hops\n\n", exampleFolder)

	e, err := startEnv(ctx, root, bin)
	if err != nil {
		return fmt.Errorf("setting up: %w", err)
	}
	defer func() {
		td, stopErr := e.stop()
		if vErr := td.verify(); vErr != nil || stopErr != nil {
			err = errors.Join(err, fmt.Errorf("teardown: %w", errors.Join(stopErr, vErr)))
			return
		}
		p.printf("\nTorn down: edgerewrite and Postfix stopped (no process left), sinks closed, %s removed.\n", strings.Join(td.dirs, " and "))
	}()
	e.describe(p)

	var failed []string
	delivered, refused := 0, 0
	for i, s := range smp {
		if err := ctx.Err(); err != nil {
			return err
		}
		p.printf("\n%d. %s\n", i+1, s.title)
		if s.before != nil {
			p.printf("   %s\n", s.before.what)
			if err := e.appendConfig(ctx, s.before.text); err != nil {
				return err
			}
		}
		how := "from an Internet server (" + internetIP + ")"
		if s.fromExchange {
			how = "from Exchange Online (" + exchangeIP + ", STARTTLS, client certificate CN=" + e.eop.Cert.Subject.CommonName + ")"
		}
		p.printf("   to %s %s\n", listenerName(s.via), how)
		problem, kind := e.play(ctx, p, s)
		if problem != "" {
			failed = append(failed, fmt.Sprintf("%d (%s): %s", i+1, s.title, problem))
			p.printf("   %-10s %s\n", "result", p.paint("1;31", "UNEXPECTED: "+problem))
			continue
		}
		if kind == "delivered" {
			delivered++
		} else {
			refused++
		}
	}
	summary := fmt.Sprintf("%d sent, %d delivered as expected, %d refused as expected", len(smp), delivered, refused)
	if len(failed) > 0 {
		summary += fmt.Sprintf(", %d NOT as expected", len(failed))
	}
	p.printf("\n%s (%.1f s).\n", summary, time.Since(started).Seconds())
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d samples did not behave as expected:\n  %s", len(failed), len(smp), strings.Join(failed, "\n  "))
	}
	return nil
}

// describe prints the set-up.
func (e *env) describe(p *printer) {
	rules, _ := e.metric("edgerewrite_rules_loaded")
	version := e.version
	if version == "" {
		version = "?"
	}
	p.printf("   %-12s Postfix %s on 127.0.0.1: public MX %s, tenant A's connector %s, tenant B's connector %s\n", "gateway",
		version, e.listeners[publicMX], e.listeners[connectorA], e.listeners[connectorB])
	p.printf("   %-12s %s serve with the example's edgerewrite.toml and rules/ (%.0f rules)\n", "edgerewrite", e.er.Bin, rules)
	p.printf("   %-12s the Internet (relayhost), tenant A and tenant B (TLS, each records the client certificate it got)\n", "next hops")
}

// play sends one sample, prints it, and returns what was wrong ("" if nothing) and whether it
// was "delivered" or "refused".
func (e *env) play(ctx context.Context, p *printer, s *sample) (problem, kind string) {
	res, err := harness.Send(e.listeners[s.via], s.envelope(e))
	if err != nil {
		p.rows(refusedRows(s))
		return err.Error(), ""
	}
	if s.wantReply != "" {
		p.rows(refusedRows(s))
		r := res.Refusal()
		for i, l := range wrap(r.String(), 100) {
			label := "reply"
			if i > 0 {
				label = ""
			}
			p.printf("   %-10s %s\n", label, l)
		}
		switch {
		case res.Accepted():
			return "accepted, want " + s.wantReply, ""
		case !strings.HasPrefix(r.String(), s.wantReply+" "):
			return "reply " + r.String() + ", want " + s.wantReply, ""
		case s.wantText != "" && r.Text != s.wantText:
			return fmt.Sprintf("reply text %q, want the configured %q", r.Text, s.wantText), ""
		}
		verdict := "refused at " + refusedCommand(res) + ", as expected"
		if r.Code < 500 {
			verdict = "deferred at " + refusedCommand(res) + " (the sending server retries later), as expected"
		}
		p.printf("   %-10s %s\n", "result", p.paint("32", verdict))
		return "", "refused"
	}
	if !res.Accepted() {
		p.rows(refusedRows(s))
		return "refused: " + res.Refusal().String(), ""
	}
	id := sentHeader(s.env, "Message-ID")
	var d *delivered
	err = poll(ctx, deliveryTimeout, func() (bool, error) {
		d = e.find(id)
		return d != nil, nil
	}, "message "+id+" did not arrive at any next hop")
	if err != nil {
		p.rows(refusedRows(s))
		return err.Error(), ""
	}
	p.rows(deliveredRows(s, d))
	if problem := s.check(d); problem != "" {
		return problem, ""
	}
	at := "delivered to " + d.Sink
	if d.ClientCN != "" {
		at += " (Postfix presented its client certificate CN=" + d.ClientCN + ")"
	}
	p.printf("   %-10s %s\n", "result", p.paint("32", at+", as expected"))
	return "", "delivered"
}

// check compares a delivered message with what the sample wants.
func (s *sample) check(d *delivered) string {
	var bad []string
	if d.Sink != s.wantAt {
		bad = append(bad, fmt.Sprintf("arrived at %s, want %s", d.Sink, s.wantAt))
	}
	if d.From != s.wantFrom {
		bad = append(bad, fmt.Sprintf("MAIL FROM <%s>, want <%s>", d.From, s.wantFrom))
	}
	if !slices.Equal(d.Rcpts, s.wantRcpts) {
		bad = append(bad, fmt.Sprintf("RCPT TO %s, want %s", strings.Join(d.Rcpts, ", "), strings.Join(s.wantRcpts, ", ")))
	}
	for name, want := range s.wantHdr {
		if f, _ := d.Header.Field(name, 1); f.Text() != want {
			bad = append(bad, fmt.Sprintf("%s: %q, want %q", name, f.Text(), want))
		}
	}
	for prop, want := range s.wantCal {
		if got := calendarLine(d.Data, prop); got != want {
			bad = append(bad, fmt.Sprintf("calendar %s: %q, want %q", prop, got, want))
		}
	}
	if s.wantCN != "" && d.ClientCN != s.wantCN {
		bad = append(bad, fmt.Sprintf("client certificate %q, want %q", d.ClientCN, s.wantCN))
	}
	return strings.Join(bad, "; ")
}

// find looks for the message with that Message-ID at every next hop.
func (e *env) find(msgID string) *delivered {
	for _, m := range e.internet.Messages() {
		if f, _ := m.Header().Field("Message-ID", 1); f.Text() == msgID {
			return fromHarness("the Internet", m)
		}
	}
	for _, h := range e.hops {
		for _, m := range h.Messages() {
			if f, _ := m.Header().Field("Message-ID", 1); f.Text() == msgID {
				return fromHarness(h.Name(), m)
			}
		}
	}
	return nil
}

// refusedCommand names the command the first negative reply answered.
func refusedCommand(res *harness.Result) string {
	switch r := res.Refusal(); {
	case r == res.Mail:
		return "MAIL FROM"
	case r == res.Data:
		return "the end of DATA"
	case r.Code == 0:
		return "nothing"
	}
	return "RCPT TO"
}
