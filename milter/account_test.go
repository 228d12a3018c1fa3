package milter

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgerewrite/edgerewrite/milter/decide"
	"github.com/edgerewrite/edgerewrite/policy"
)

// TestCountCutovers: a held message counts once for its wave file; a message with deferred
// recipients once per file and action; observe mode counts nothing.
func TestCountCutovers(t *testing.T) {
	s := &Server{metrics: NewMetrics(prometheus.NewRegistry())}
	hold := policy.Verdict{Action: policy.Hold, Reason: "cutover-hold: a@contoso.com", Source: "wave-01.cutover:7"}
	deferred := func(src string) decide.RcptOutcome {
		return decide.RcptOutcome{Result: policy.RcptResult{Verdict: policy.Verdict{Action: policy.Tempfail,
			Reason: "cutover-defer: x", Source: src}}}
	}
	s.countMessage(&decide.Outcome{Verdict: hold}, 0)
	s.countMessage(&decide.Outcome{Verdict: hold, Observe: true}, 0)
	s.countMessage(&decide.Outcome{Rcpts: []decide.RcptOutcome{deferred("wave-01.cutover:2"), deferred("wave-01.cutover:3"), deferred("")}}, 0)
	for _, c := range []struct {
		file, action string
		want         float64
	}{
		{"wave-01.cutover", "hold", 1},
		{"wave-01.cutover", "defer", 1},
		{decide.CutoverTable, "defer", 1},
		{decide.CutoverTable, "hold", 0},
	} {
		if got := testutil.ToFloat64(s.metrics.Cutovers.WithLabelValues(c.file, c.action)); got != c.want {
			t.Errorf("cutover_messages_total{file=%q,action=%q} = %v, want %v", c.file, c.action, got, c.want)
		}
	}
}
