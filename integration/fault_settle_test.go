package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// settleRules is the number of address rules of TestFaultSlowEditsInPlace.
const settleRules = 2000

// settleRuleFile is the rules file of TestFaultSlowEditsInPlace: u0000..u1999 at
// tenanta.contoso.com each leave as user.NNNN@contoso.com, plus extra lines.
func settleRuleFile(extra ...string) []byte {
	var b strings.Builder
	for i := range settleRules {
		fmt.Fprintf(&b, "u%04d@tenanta.contoso.com user.%04d@contoso.com\n", i, i)
	}
	for _, l := range extra {
		b.WriteString(l + "\n")
	}
	return []byte(b.String())
}

// settleSender is the sender of message i, spread over the whole rules file so that a table
// loaded from part of the file leaves some of them unrewritten.
func settleSender(i int) int { return i * 7919 % settleRules }

// writeInPlace rewrites path in place as a slow writer does (an scp or rsync --inplace over a
// slow link, a script writing section by section): truncate, then the data in chunks with a
// pause after each but the last. Every chunk is a complete-looking file so far.
func writeInPlace(path string, data []byte, chunks int, pause time.Duration) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	size := (len(data) + chunks - 1) / chunks
	for off := 0; off < len(data); off += size {
		if off > 0 {
			time.Sleep(pause)
		}
		if _, err := f.Write(data[off:min(off+size, len(data))]); err != nil {
			return err
		}
	}
	return f.Close()
}

// TestFaultSlowEditsInPlace rewrites the rules file, then the config file, in place and slowly
// while mail flows through Postfix. No reload may read a file still being written: every
// message is taken and rewritten by the complete rules, no reload fails, the rules loaded never
// drop below the full set, and the completed edit is in service soon after the last write.
func TestFaultSlowEditsInPlace(t *testing.T) {
	for _, tc := range []struct {
		name string
		// edit rewrites a file of e in place; it returns the rules expected afterwards.
		edit func(e *faultEnv) (rules float64, err error)
	}{
		{"rules file in 20 chunks 0.2 s apart", func(e *faultEnv) (float64, error) {
			data := settleRuleFile("late@tenanta.contoso.com late.arrival@contoso.com")
			return settleRules + 1, writeInPlace(filepath.Join(e.rulesDir, "users.rules"), data, 20, 200*time.Millisecond)
		}},
		{"config file in 6 chunks 0.4 s apart", func(e *faultEnv) (float64, error) {
			conf := filepath.Join(filepath.Dir(e.rulesDir), "edgerewrite.toml")
			old, err := os.ReadFile(conf)
			if err != nil {
				return 0, err
			}
			// The edit's first chunks are a valid config without the organisation's domains and
			// the connector: applied, it would refuse every message.
			data := append(old, "\n# edited in place\n"...)
			return settleRules, writeInPlace(conf, data, 6, 400*time.Millisecond)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newFaultEnv(t, harness.MustBuildEdgerewrite(t), func(dir string) {
				if err := os.WriteFile(filepath.Join(dir, "users.rules"), settleRuleFile(), 0o644); err != nil {
					t.Fatal(err)
				}
			})
			if n := e.metric(e2eRulesLoaded); n != settleRules {
				t.Fatalf("%s = %v at start, want %d", e2eRulesLoaded, n, settleRules)
			}
			const failure, success = `edgerewrite_reloads_total{result="failure"}`, `edgerewrite_reloads_total{result="success"}`
			failures, successes := e.metric(failure), e.metric(success)

			s := &stream{addr: e.tenantA, workers: 4, pause: 100 * time.Millisecond, giveUp: 30 * time.Second,
				message: func(i int) harness.Envelope {
					from := fmt.Sprintf("u%04d@tenanta.contoso.com", settleSender(i))
					env := faultMessage("settle", i)
					env.From = from
					env.Data = harness.BuildMessage([]string{"From: " + from, "To: partner@fabrikam.example",
						fmt.Sprintf("Subject: settle %04d", i), fmt.Sprintf("Message-ID: <settle-%04d@tenanta.contoso.com>", i)}, "x\n")
					return env
				}}
			ctx, stop := context.WithCancel(context.Background())
			defer stop()

			// Watch the rules in service the whole time: a partial file put into service shows
			// as fewer rules.
			var fewest atomic.Int64
			fewest.Store(settleRules)
			go func() {
				for ctx.Err() == nil {
					if v, err := e.metricValue(e2eRulesLoaded); err == nil && int64(v) < fewest.Load() {
						fewest.Store(int64(v))
					}
					time.Sleep(20 * time.Millisecond)
				}
			}()

			var wantRules float64
			var written, seen time.Time
			editErr := make(chan error, 1)
			go func() {
				defer stop()
				editErr <- func() error {
					for s.accepted.Load() < 20 {
						time.Sleep(10 * time.Millisecond)
					}
					var err error
					if wantRules, err = tc.edit(e); err != nil {
						return err
					}
					written = time.Now()
					if seen, err = e.waitMetric(success, func(v float64) bool { return v > successes }, 20*time.Second); err != nil {
						return fmt.Errorf("the completed edit was not loaded: %w", err)
					}
					for target := s.accepted.Load() + 20; s.accepted.Load() < target; {
						time.Sleep(10 * time.Millisecond)
					}
					return nil
				}()
			}()
			sent, err := s.run(ctx)
			if err != nil {
				t.Error(err)
			}
			if err := <-editErr; err != nil {
				t.Fatal(err)
			}
			msgs := e.settle(len(sent))
			for _, m := range msgs {
				n := subjectNumber(m.Header(), "settle")
				if want := fmt.Sprintf("user.%04d@contoso.com", settleSender(n)); m.From != want {
					t.Errorf("message %d left as MAIL FROM <%s>, want <%s>", n, m.From, want)
				}
			}
			if len(msgs) != len(sent) {
				t.Errorf("%d messages at the sink, %d sent", len(msgs), len(sent))
			}
			if n := e.metric(failure); n != failures {
				t.Errorf("%v failed reloads during the edit: a partial file was read", n-failures)
			}
			if n := fewest.Load(); n < settleRules {
				t.Errorf("a partial rules file was put into service: %d rules loaded at one time", n)
			}
			if n := e.metric(e2eRulesLoaded); n != wantRules {
				t.Errorf("%s = %v after the edit, want %v", e2eRulesLoaded, n, wantRules)
			}
			if n := e.metric(success) - successes; n != 1 {
				t.Errorf("%v successful reloads for one edit, want 1", n)
			}
			t.Logf("%d messages (4xx: %s); the edit was in service %s after its last write",
				len(msgs), s.tempfails(), seen.Sub(written).Round(time.Millisecond))
		})
	}
}
