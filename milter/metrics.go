package milter

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// MetricsNamespace prefixes every metric name: edgerewrite_messages_total, ...
const MetricsNamespace = "edgerewrite"

// Metrics are the milter sessions' Prometheus metrics: messages, rewrites, latency, panics
// and live connections. The daemon's reload metrics are its own. Every field is safe for
// concurrent use.
type Metrics struct {
	// Messages counts finished messages by direction ("inbound", "outbound"), verdict
	// ("accept", "reject", "tempfail", "hold"; in observe mode the verdict actually given),
	// connector and tenant ("-" for Internet mail). Their number is bounded by the config.
	Messages *prometheus.CounterVec
	// Rewrites counts changed addresses by field: "mail-from", "rcpt", or the header name.
	Rewrites *prometheus.CounterVec
	// RewritesWithheld counts rewrites a rule called for but that were not made, by reason:
	// "needs-smtputf8" (the new address needs UTF-8 and the transaction is not SMTPUTF8) or
	// "dkim-signed" (an inbound To or Cc that a DKIM signature covers, inbound_header_rewrite
	// = "unsigned").
	RewritesWithheld *prometheus.CounterVec
	// Calendar counts messages whose body was read for calendar data, by result: "rewritten",
	// "unchanged", "too-large" (over calendar_max_bytes, passed unread) or "malformed".
	Calendar *prometheus.CounterVec
	// HeadersUnparsed counts address headers left unchanged because they could not be parsed,
	// or because their rewritten form would not fit a milter packet (rewrite.ErrFieldTooLong).
	HeadersUnparsed prometheus.Counter
	// MessageDuration is the time from MAIL FROM to the end-of-message reply.
	MessageDuration prometheus.Histogram
	// Panics counts recovered panics in a session; each one answered its message with a
	// temporary failure.
	Panics prometheus.Counter
	// SessionsActive is the number of live milter connections (one per Postfix SMTP session).
	SessionsActive prometheus.Gauge
	// Cutovers counts messages held and messages with recipients deferred, by the cutover list
	// file that decided it ("[[cutover]]" for the config's tables) and action ("hold",
	// "defer"), so a wave's progress shows per file.
	Cutovers *prometheus.CounterVec
	// LimitHits counts the bounds of config.Limits reached, by limit (its setting's name:
	// "max_recipients", "read_timeout", ...); each one gave a message or an SMTP session a
	// temporary failure, or closed an idle connection.
	LimitHits *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg. A nil reg creates working but
// unregistered metrics (for tests and `edgerewrite test`).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		Messages: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "messages_total",
			Help: "Messages by direction, verdict, connector and tenant.",
		}, []string{"direction", "verdict", "connector", "tenant"}),
		Rewrites: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "rewrites_total",
			Help: "Rewritten addresses by field (mail-from, rcpt, header name).",
		}, []string{"field"}),
		RewritesWithheld: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "rewrites_withheld_total",
			Help: "Rewrites a rule called for but not made, by reason.",
		}, []string{"reason"}),
		Calendar: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "calendar_messages_total",
			Help: "Messages whose body was read for calendar data, by result.",
		}, []string{"result"}),
		HeadersUnparsed: f.NewCounter(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "headers_unparsed_total",
			Help: "Address headers left unchanged because they could not be parsed.",
		}),
		MessageDuration: f.NewHistogram(prometheus.HistogramOpts{
			Namespace: MetricsNamespace, Name: "message_duration_seconds",
			Help:    "Time from MAIL FROM to the end-of-message reply.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}),
		Panics: f.NewCounter(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "panics_total",
			Help: "Recovered panics in milter sessions; each message concerned got a temporary failure.",
		}),
		SessionsActive: f.NewGauge(prometheus.GaugeOpts{
			Namespace: MetricsNamespace, Name: "sessions_active",
			Help: "Live milter connections.",
		}),
		Cutovers: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "cutover_messages_total",
			Help: "Messages held or with recipients deferred by a cutover, by cutover list file and action.",
		}, []string{"file", "action"}),
		LimitHits: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: MetricsNamespace, Name: "limit_hits_total",
			Help: "Bounds on milter clients reached, by limit; each gave a message or SMTP session a temporary failure or closed an idle connection.",
		}, []string{"limit"}),
	}
}
