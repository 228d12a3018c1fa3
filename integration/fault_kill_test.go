package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// TestFaultSIGKILL kills edgerewrite with SIGKILL in the middle of a stream of 300 messages
// from 6 connections at a time and starts it again a second later. Postfix answers 4xx while
// the milter is gone (milter_default_action = tempfail), the clients retry, and the sink must get
// every message exactly once, each rewritten.
func TestFaultSIGKILL(t *testing.T) {
	const total, killAt = 300, 100
	e := newFaultEnv(t, harness.MustBuildEdgerewrite(t), nil)
	s := &stream{addr: e.tenantA, workers: 6, limit: total, pause: 100 * time.Millisecond, giveUp: 45 * time.Second,
		message: func(i int) harness.Envelope { return faultMessage("fault-kill", i) }}

	killed := make(chan error, 1)
	var outage struct{ from, to time.Time }
	go func() {
		for s.accepted.Load() < killAt {
			time.Sleep(2 * time.Millisecond)
		}
		outage.from = time.Now()
		if err := e.er.Kill(); err != nil {
			killed <- err
			return
		}
		time.Sleep(time.Second)
		err := e.er.Start()
		outage.to = time.Now()
		killed <- err
	}()
	start := time.Now()
	sent, err := s.run(context.Background())
	if err != nil {
		t.Error(err)
	}
	if err := <-killed; err != nil {
		t.Fatalf("kill and restart edgerewrite: %v", err)
	}
	msgs := e.settle(total)
	t.Logf("%d messages taken by Postfix in %d SMTP transactions (answered 4xx: %s; connection errors: %d) in %s; "+
		"edgerewrite was down for %s; %d messages at the sink",
		len(sent), s.attempts.Load(), s.tempfails(), s.connErr.Load(), time.Since(start).Round(time.Millisecond),
		outage.to.Sub(outage.from).Round(time.Millisecond), len(msgs))
	if s.tempfail.Load() == 0 {
		t.Error("no client saw a 4xx: the kill did not hit the stream")
	}
	if len(sent) != total {
		t.Errorf("Postfix took %d messages, want %d", len(sent), total)
	}

	seen := make([]int, total)
	unrewritten := 0
	for _, m := range msgs {
		h := m.Header()
		n := subjectNumber(h, "fault-kill")
		if n < 0 || n >= total {
			t.Errorf("message at the sink with an unknown subject: %s", m)
			continue
		}
		seen[n]++
		if msg := checkFaultRewritten(m, h, n); msg != "" {
			unrewritten++
			t.Errorf("message %d not rewritten: %s", n, msg)
		}
	}
	var missing, twice []string
	for n, c := range seen {
		switch {
		case c == 0:
			missing = append(missing, fmt.Sprint(n))
		case c > 1:
			twice = append(twice, fmt.Sprintf("%d (%dx)", n, c))
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d messages never arrived: %s", len(missing), strings.Join(missing, " "))
	}
	if len(twice) > 0 {
		t.Errorf("%d messages arrived more than once: %s", len(twice), strings.Join(twice, " "))
	}
	t.Logf("sent %d, delivered %d, missing %d, duplicated %d, unrewritten %d",
		total, len(msgs), len(missing), len(twice), unrewritten)
}

// checkFaultRewritten says what is wrong with the rewriting of faultMessage n as it arrived, ""
// if nothing.
func checkFaultRewritten(m *harness.Message, h harness.Header, n int) string {
	want := fmt.Sprintf("user%d@contoso.com", n)
	var bad []string
	if m.From != want {
		bad = append(bad, fmt.Sprintf("MAIL FROM <%s>", m.From))
	}
	for field, v := range map[string]string{
		"From":     fmt.Sprintf("User %d <%s>", n, want),
		"Reply-To": want,
		"Cc":       "helpdesk@contoso.com",
		"To":       "Partner <partner@fabrikam.example>",
	} {
		f, _ := h.Field(field, 1)
		if f.Text() != v {
			bad = append(bad, fmt.Sprintf("%s: %q, want %q", field, f.Text(), v))
		}
	}
	return strings.Join(bad, "; ")
}
