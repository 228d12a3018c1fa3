package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// reloadRules is the size of both rule sets of TestFaultRuleEdits.
const reloadRules = 50000

// ruleSet writes the rules file of TestFaultRuleEdits: u00000 .. u49999 at tenanta.contoso.com,
// each to the same local part at domain. broken, when not 0, puts a line with no external
// address after that many rules (the file's line broken+1).
func ruleSet(domain string, broken int) []byte {
	var b strings.Builder
	b.Grow(reloadRules * 56)
	for i := range reloadRules {
		if broken > 0 && i == broken {
			b.WriteString("u-broken@tenanta.contoso.com\n")
		}
		fmt.Fprintf(&b, "u%05d@tenanta.contoso.com u%05d@%s\n", i, i, domain)
	}
	return []byte(b.String())
}

// replaceFile replaces dir/name the way editors and deploy tools do: write a temporary file
// (whose name the rules loader ignores), then rename it over the old one. It returns when the
// new file is in place.
func replaceFile(dir, name string, data []byte) (time.Time, error) {
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return time.Time{}, err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return time.Time{}, err
	}
	return time.Now(), nil
}

// reloadMessage is message i of TestFaultRuleEdits: four tenant A addresses far apart in the
// table (envelope sender and From u[a], Reply-To u[c], Cc u[b]), so that a message that saw a
// table half old and half new would show it.
func reloadMessage(i int) harness.Envelope {
	a := i * 7919 % reloadRules
	b, c := (a+reloadRules/2)%reloadRules, reloadRules-1-a
	from := fmt.Sprintf("u%05d@tenanta.contoso.com", a)
	return harness.Envelope{
		LocalAddr: tenantRelay,
		From:      from,
		Rcpts:     harness.Rcpts("partner@fabrikam.example"),
		Data: harness.BuildMessage([]string{
			"From: " + from,
			"To: partner@fabrikam.example",
			fmt.Sprintf("Cc: u%05d@tenanta.contoso.com", b),
			fmt.Sprintf("Reply-To: u%05d@tenanta.contoso.com", c),
			fmt.Sprintf("Subject: fault-reload %04d", i),
			fmt.Sprintf("Message-ID: <fault-reload-%04d@tenanta.contoso.com>", i),
		}, "x\n"),
	}
}

// ruleSetSeen says which rule set rewrote message i: "old" (every address at contoso.com),
// "new" (every address at new.contoso.com), or what is wrong.
func ruleSetSeen(m *harness.Message, h harness.Header, i int) (string, error) {
	a := i * 7919 % reloadRules
	b, c := (a+reloadRules/2)%reloadRules, reloadRules-1-a
	got := map[string]string{"MAIL FROM": m.From}
	for _, f := range []string{"From", "Cc", "Reply-To"} {
		v, _ := h.Field(f, 1)
		got[f] = v.Text()
	}
	for _, set := range []struct{ name, domain string }{{"old", "contoso.com"}, {"new", "new.contoso.com"}} {
		want := map[string]string{
			"MAIL FROM": fmt.Sprintf("u%05d@%s", a, set.domain), "From": fmt.Sprintf("u%05d@%s", a, set.domain),
			"Cc": fmt.Sprintf("u%05d@%s", b, set.domain), "Reply-To": fmt.Sprintf("u%05d@%s", c, set.domain),
		}
		same := true
		for k := range want {
			same = same && got[k] == want[k]
		}
		if same {
			return set.name, nil
		}
	}
	return "", fmt.Errorf("message %d is rewritten by neither complete rule set: %v", i, got)
}

// wantGauges checks edgerewrite_config_last_reload_successful and edgerewrite_rules_loaded.
func (e *faultEnv) wantGauges(successful, rules float64) error {
	ok, err := e.metricValue("edgerewrite_config_last_reload_successful")
	if err != nil {
		return err
	}
	n, err := e.metricValue("edgerewrite_rules_loaded")
	if err != nil {
		return err
	}
	if ok != successful || n != rules {
		return fmt.Errorf("edgerewrite_config_last_reload_successful %v, edgerewrite_rules_loaded %v; want %v and %v", ok, n, successful, rules)
	}
	return nil
}

// TestFaultRuleEdits edits the rules while messages flow: first a broken edit (the whole table
// replaced by new addresses, with one bad line in the middle), which must change nothing, then
// the same 50,000 rules replaced by new ones without the bad line. Every message must be
// rewritten entirely by the old set or entirely by the new one (one table snapshot per
// message), messages sent while the broken edit was on disk by the old set, and messages sent
// after the new set was reported loaded by the new set.
func TestFaultRuleEdits(t *testing.T) {
	const name = "tenant-a.rules"
	e := newFaultEnv(t, harness.MustBuildEdgerewrite(t), func(dir string) {
		if err := os.WriteFile(filepath.Join(dir, name), ruleSet("contoso.com", 0), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	if n := e.metric("edgerewrite_rules_loaded"); n != reloadRules {
		t.Fatalf("edgerewrite_rules_loaded = %v at start, want %d", n, reloadRules)
	}
	s := &stream{addr: e.tenantA, workers: 6, pause: 100 * time.Millisecond, giveUp: 45 * time.Second, message: reloadMessage}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()

	// The edits, each after 40 more messages went through.
	var tl struct{ brokenSeen, goodWritten, goodSeen time.Time }
	editErr := make(chan error, 1)
	go func() {
		defer stop()
		editErr <- func() error {
			after := func(n int64) error {
				deadline := time.Now().Add(30 * time.Second)
				for target := s.accepted.Load() + n; s.accepted.Load() < target; {
					if time.Now().After(deadline) {
						return fmt.Errorf("the stream is stuck at %d messages", s.accepted.Load())
					}
					time.Sleep(5 * time.Millisecond)
				}
				return nil
			}
			const failure, success = `edgerewrite_reloads_total{result="failure"}`, `edgerewrite_reloads_total{result="success"}`
			if err := after(40); err != nil {
				return err
			}
			failures, err := e.metricValue(failure)
			if err != nil {
				return err
			}
			if _, err := replaceFile(e.rulesDir, name, ruleSet("new.contoso.com", reloadRules/2)); err != nil {
				return err
			}
			if tl.brokenSeen, err = e.waitMetric(failure, func(v float64) bool { return v > failures }, 20*time.Second); err != nil {
				return fmt.Errorf("the broken edit was not reported: %w", err)
			}
			if err := e.wantGauges(0, reloadRules); err != nil {
				return fmt.Errorf("after the broken edit: %w", err)
			}
			if err := after(40); err != nil {
				return err
			}
			successes, err := e.metricValue(success)
			if err != nil {
				return err
			}
			if tl.goodWritten, err = replaceFile(e.rulesDir, name, ruleSet("new.contoso.com", 0)); err != nil {
				return err
			}
			if tl.goodSeen, err = e.waitMetric(success, func(v float64) bool { return v > successes }, 20*time.Second); err != nil {
				return fmt.Errorf("the good edit was not loaded: %w", err)
			}
			if err := e.wantGauges(1, reloadRules); err != nil {
				return fmt.Errorf("after the good edit: %w", err)
			}
			return after(40)
		}()
	}()
	start := time.Now()
	sent, err := s.run(ctx)
	if err != nil {
		t.Error(err)
	}
	if err := <-editErr; err != nil {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	msgs := e.settle(len(sent))
	if n := e.metric("edgerewrite_rules_loaded"); n != reloadRules {
		t.Errorf("edgerewrite_rules_loaded = %v at the end, want %d", n, reloadRules)
	}
	brokenLine := fmt.Sprintf("%s:%d", name, reloadRules/2+1)
	if !strings.Contains(e.er.Log(), brokenLine) {
		t.Errorf("the daemon log does not name the bad line %s", brokenLine)
	}

	byN := map[int]sentMessage{}
	for _, sm := range sent {
		byN[sm.N] = sm
	}
	count := map[string]int{}
	for _, m := range msgs {
		h := m.Header()
		n := subjectNumber(h, "fault-reload")
		sm, ok := byN[n]
		if !ok {
			t.Errorf("unexpected message at the sink: %s", m)
			continue
		}
		set, err := ruleSetSeen(m, h, n)
		if err != nil {
			t.Error(err)
			count["mixed"]++
			continue
		}
		count[set]++
		switch {
		case sm.Start.After(tl.brokenSeen) && sm.End.Before(tl.goodWritten):
			count["while broken"]++
			if set != "old" {
				t.Errorf("message %d, sent while the broken edit was on disk, was rewritten by the %s set", n, set)
			}
		case sm.Start.After(tl.goodSeen) && set != "new":
			t.Errorf("message %d, sent after the new rules were loaded, was rewritten by the %s set", n, set)
		}
	}
	if len(msgs) != len(sent) {
		t.Errorf("%d messages at the sink, %d sent", len(msgs), len(sent))
	}
	if count["old"] == 0 || count["new"] == 0 || count["while broken"] == 0 {
		t.Errorf("the stream did not span both edits: %v", count)
	}
	t.Logf("%d messages in %s (4xx: %s): %d by the old set (%d of them while the broken edit was on disk), %d by the new set, %d mixed; "+
		"new rules in service %s after the file was replaced", len(msgs), time.Since(start).Round(time.Millisecond), s.tempfails(),
		count["old"], count["while broken"], count["new"], count["mixed"], tl.goodSeen.Sub(tl.goodWritten).Round(time.Millisecond))
}
