package daemon

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/edgerewrite/edgerewrite/milter"
)

// Metrics are the daemon's reload metrics; the milter sessions count messages with their own
// (milter.Metrics) on the same registry. Every field is safe for concurrent use.
type Metrics struct {
	// RulesLoaded is the number of rules in the table in service.
	RulesLoaded prometheus.Gauge
	// ReloadSuccessful is 1 when the last reload of config and rules succeeded, 0 when it failed.
	ReloadSuccessful prometheus.Gauge
	// ReloadSuccessTimestamp is the Unix time of the last successful reload.
	ReloadSuccessTimestamp prometheus.Gauge
	// ReloadHeld is 1 while the reload guard holds an edit that would lose much, until SIGHUP
	// confirms it or a later edit loses nothing.
	ReloadHeld prometheus.Gauge
	// GenerationInfo is 1 for the fingerprints of the rules and the policy in service (labels
	// rules_fingerprint, policy_fingerprint), so that a query across a fleet shows the gateways
	// that serve something else: count by (rules_fingerprint) (edgerewrite_generation_info).
	GenerationInfo *prometheus.GaugeVec
	// Reloads counts reload attempts by result ("success", "failure").
	Reloads *prometheus.CounterVec
}

// NewMetrics creates the reload metrics and registers them with reg; a nil reg creates working
// but unregistered metrics (for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		RulesLoaded: f.NewGauge(prometheus.GaugeOpts{
			Namespace: milter.MetricsNamespace, Name: "rules_loaded",
			Help: "Rules in the table in service.",
		}),
		ReloadSuccessful: f.NewGauge(prometheus.GaugeOpts{
			Namespace: milter.MetricsNamespace, Name: "config_last_reload_successful",
			Help: "Whether the last reload of config and rules succeeded (1) or failed (0).",
		}),
		ReloadSuccessTimestamp: f.NewGauge(prometheus.GaugeOpts{
			Namespace: milter.MetricsNamespace, Name: "config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful reload.",
		}),
		ReloadHeld: f.NewGauge(prometheus.GaugeOpts{
			Namespace: milter.MetricsNamespace, Name: "reload_held",
			Help: "1 while an automatic reload that would lose much waits for SIGHUP (systemctl reload edgerewrite).",
		}),
		GenerationInfo: f.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: milter.MetricsNamespace, Name: "generation_info",
			Help: "1 for the fingerprints of the rules and the policy in service.",
		}, []string{"rules_fingerprint", "policy_fingerprint"}),
		Reloads: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: milter.MetricsNamespace, Name: "reloads_total",
			Help: "Reload attempts by result.",
		}, []string{"result"}),
	}
}

// ObserveReload records one reload attempt: on success the rule count, the success gauge and
// timestamp; on failure the success gauge drops to 0 and the rule count stays (the old table
// keeps serving).
func (m *Metrics) ObserveReload(ok bool, rules int, at time.Time) {
	if !ok {
		m.ReloadSuccessful.Set(0)
		m.Reloads.WithLabelValues("failure").Inc()
		return
	}
	m.RulesLoaded.Set(float64(rules))
	m.ReloadSuccessful.Set(1)
	m.ReloadSuccessTimestamp.Set(float64(at.UnixNano()) / 1e9)
	m.Reloads.WithLabelValues("success").Inc()
}

// ObserveGeneration sets the info metric to the fingerprints of the generation now in service.
func (m *Metrics) ObserveGeneration(rules, policy string) {
	m.GenerationInfo.Reset()
	m.GenerationInfo.WithLabelValues(rules, policy).Set(1)
}
