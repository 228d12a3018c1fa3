package milter

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metricsNamespace prefixes every metric name: edgerewrite_messages_total, ...
const metricsNamespace = "edgerewrite"

// Metrics are the daemon's Prometheus metrics. The session counts messages, rewrites and
// latency; the reload code sets the rule and reload metrics (see ObserveReload). Every field is
// safe for concurrent use.
type Metrics struct {
	// Messages counts finished messages by direction ("inbound", "outbound") and verdict
	// ("accept", "reject", "tempfail", "hold"; in observe mode the verdict actually given).
	Messages *prometheus.CounterVec
	// Rewrites counts changed addresses by field: "mail-from", "rcpt", or the header name.
	Rewrites *prometheus.CounterVec
	// HeadersUnparsed counts address headers left unchanged because they could not be parsed.
	HeadersUnparsed prometheus.Counter
	// MessageDuration is the time from MAIL FROM to the end-of-message reply.
	MessageDuration prometheus.Histogram
	// Panics counts recovered panics in a session; each one answered its message with a
	// temporary failure.
	Panics prometheus.Counter
	// SessionsActive is the number of live milter connections (one per Postfix SMTP session).
	SessionsActive prometheus.Gauge

	// RulesLoaded is the number of rules in the table in service.
	RulesLoaded prometheus.Gauge
	// ReloadSuccessful is 1 when the last reload of config and rules succeeded, 0 when it failed.
	ReloadSuccessful prometheus.Gauge
	// ReloadSuccessTimestamp is the Unix time of the last successful reload.
	ReloadSuccessTimestamp prometheus.Gauge
	// Reloads counts reload attempts by result ("success", "failure").
	Reloads *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg. A nil reg creates working but
// unregistered metrics (for tests and `edgerewrite test`).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		Messages: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "messages_total",
			Help: "Messages by direction and verdict.",
		}, []string{"direction", "verdict"}),
		Rewrites: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "rewrites_total",
			Help: "Rewritten addresses by field (mail-from, rcpt, header name).",
		}, []string{"field"}),
		HeadersUnparsed: f.NewCounter(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "headers_unparsed_total",
			Help: "Address headers left unchanged because they could not be parsed.",
		}),
		MessageDuration: f.NewHistogram(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "message_duration_seconds",
			Help:    "Time from MAIL FROM to the end-of-message reply.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}),
		Panics: f.NewCounter(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "panics_total",
			Help: "Recovered panics in milter sessions; each message concerned got a temporary failure.",
		}),
		SessionsActive: f.NewGauge(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "sessions_active",
			Help: "Live milter connections.",
		}),
		RulesLoaded: f.NewGauge(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "rules_loaded",
			Help: "Rules in the table in service.",
		}),
		ReloadSuccessful: f.NewGauge(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "config_last_reload_successful",
			Help: "Whether the last reload of config and rules succeeded (1) or failed (0).",
		}),
		ReloadSuccessTimestamp: f.NewGauge(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful reload.",
		}),
		Reloads: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "reloads_total",
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
