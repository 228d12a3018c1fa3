package daemon

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

func TestMetrics_NamesPassPromlint(t *testing.T) {
	reg, m, sm := NewRegistry()
	sm.Messages.WithLabelValues("inbound", "accept", "-", "-").Inc()
	sm.Rewrites.WithLabelValues("rcpt").Inc()
	m.Reloads.WithLabelValues("success").Inc()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

func TestMetrics_ObserveReload(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	at := time.Unix(1795000000, 0)
	m.ObserveReload(true, 42, at)
	m.ObserveReload(false, 0, at.Add(time.Minute))
	for name, c := range map[string]struct {
		got  prometheus.Collector
		want float64
	}{
		"edgerewrite_rules_loaded":                                 {m.RulesLoaded, 42},
		"edgerewrite_config_last_reload_successful":                {m.ReloadSuccessful, 0},
		"edgerewrite_config_last_reload_success_timestamp_seconds": {m.ReloadSuccessTimestamp, 1795000000},
		"edgerewrite_reloads_total (failure)":                      {m.Reloads.WithLabelValues("failure"), 1},
	} {
		if got := testutil.ToFloat64(c.got); got != c.want {
			t.Errorf("%s = %v, want %v", name, got, c.want)
		}
	}
}
