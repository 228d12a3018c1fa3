package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// TestSmoke runs the driver small: all five configurations, both modes, one round of 50
// messages, 1000 rules, no Go benchmarks. Every message must be counted at the sink, every
// configuration must rewrite what it claims (the driver's own check), and the report must
// render. It skips without Postfix unless EDGEREWRITE_REQUIRE_POSTFIX=1.
func TestSmoke(t *testing.T) {
	harness.RequirePostfix(t)
	if testing.Short() {
		t.Skip("end-to-end smoke test of the benchmark driver: not in -short")
	}
	bin := harness.MustBuildEdgerewrite(t)
	o := defaultOptions()
	o.Bin = bin
	o.Rules, o.Messages, o.Rounds, o.Warmup = 1000, 50, 1, 0
	o.GoBench = false
	o.Idle = 20 * time.Second
	o.CommandLine = "go test ./integration/bench -run TestSmoke"

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	rep, err := run(ctx, o, log)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, c := range allConfigurations {
		for _, m := range allModes {
			if c.runsIn(m) {
				want++
			}
		}
	}
	if len(rep.Results) != want {
		t.Fatalf("%d runs, want %d", len(rep.Results), want)
	}
	for _, r := range rep.Results {
		if !r.OK() || r.Received != o.Messages || r.Log.Sent != o.Messages*rcptsPerMessage || r.Rate <= 0 {
			t.Errorf("(%s) %s: received %d of %d, log %s, %.1f msgs/s, err %v", r.Config.Key, r.Mode.Key, r.Received, o.Messages, r.Log, r.Rate, r.Err)
		}
		if r.Config.Milter && r.MilterCPU <= 0 {
			t.Errorf("(%s) %s: no milter CPU time measured", r.Config.Key, r.Mode.Key)
		}
	}

	out := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	if err := writeReport(out, rep); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	for _, want := range []string{
		"| CPUs (nproc) | ", "| Postfix | 3.", "### Results (medians of 1 round)",
		"| one connection per message | ", "| connection reuse (smtp-source -d) | ",
		"smtp-source -s 20 -m 50 -r 3 -N", "### Every run", "### Configuration as run", "smtpd_milters = unix:WORKDIR/c/edgerewrite.sock", "| 1 | reuse | (c) edgerewrite, rules | 50 |",
		"| 1 | conn | (e) pass-through milter (floor) | 50 |", "smtpd_milters = unix:WORKDIR/e/edgerewrite.sock",
		"#### Calendar data", "| 1 | conn | (f) edgerewrite, rules, meeting invitation | 50 |", "| 1 | conn | (g) edgerewrite, rules, calendar off | 50 |",
		"GOMAXPROCS=1 edgerewrite serve",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(md, "FAILED") || strings.Contains(md, "NaN") {
		t.Errorf("report shows a failure or NaN:\n%s", md)
	}
}

// testWriter sends the driver's log to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
