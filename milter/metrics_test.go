package milter

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

func TestMetrics_NamesPassPromlint(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.Messages.WithLabelValues("inbound", "accept").Inc()
	m.Rewrites.WithLabelValues("rcpt").Inc()
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
	reg := prometheus.NewRegistry()
	env := &testEnv{reg: reg}
	m := NewMetrics(reg)
	at := time.Unix(1795000000, 0)
	m.ObserveReload(true, 42, at)
	m.ObserveReload(false, 0, at.Add(time.Minute))
	for name, want := range map[string]float64{
		"edgerewrite_rules_loaded":                                 42,
		"edgerewrite_config_last_reload_successful":                0,
		"edgerewrite_config_last_reload_success_timestamp_seconds": 1795000000,
		"edgerewrite_reloads_total":                                2,
	} {
		if got := metricValue(t, env, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}
