package milter

import (
	"context"
	"log/slog"
	"net/textproto"
	"time"

	"github.com/edgerewrite/edgerewrite/milter/decide"
)

// logMessage writes the message's one log line. It hands the record to the handler itself:
// slog.Logger would walk the stack for the caller's source location on every message, which
// the daemon's handlers never print.
func (s *Server) logMessage(in *decide.Input, out *decide.Outcome, elapsed time.Duration) {
	ctx := context.Background()
	h := s.log.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "message", 0)
	r.AddAttrs(append(out.LogAttrs(in), slog.Float64("duration", elapsed.Seconds()))...)
	_ = h.Handle(ctx, r) // as slog.Logger does: a handler's error has nowhere to go
}

// cutoverKey is a label pair of the cutover metric.
type cutoverKey struct{ File, Action string }

// countMessage updates the per-message metrics.
func (s *Server) countMessage(out *decide.Outcome, elapsed time.Duration) {
	m := s.metrics
	m.Messages.WithLabelValues(decide.Direction(out.Class), out.Action().String(), orDash(out.Class.Connector), orDash(out.Class.Tenant)).Inc()
	if out.Apply() {
		for _, c := range out.Changes {
			field := c.Field
			if field != "mail-from" && field != "rcpt" {
				field = textproto.CanonicalMIMEHeaderKey(field)
			}
			m.Rewrites.WithLabelValues(field).Inc()
		}
	}
	m.HeadersUnparsed.Add(float64(len(out.Plan.Skipped)))
	if n := len(out.Plan.NeedUTF8); n > 0 {
		m.RewritesWithheld.WithLabelValues("needs-smtputf8").Add(float64(n))
	}
	for _, k := range out.Plan.Kept {
		m.RewritesWithheld.WithLabelValues("dkim-signed").Add(float64(len(k.Addrs)))
	}
	switch {
	case out.BodyState == "":
	case out.CalendarErr != nil:
		m.Calendar.WithLabelValues("malformed").Inc()
	case out.BodyState == "too-large":
		m.Calendar.WithLabelValues("too-large").Inc()
	case len(out.Calendar) > 0:
		m.Calendar.WithLabelValues("rewritten").Inc()
	default:
		m.Calendar.WithLabelValues("unchanged").Inc()
	}
	counted := map[cutoverKey]bool{}
	for _, h := range out.CutoverHits() {
		// One message counts once per file and action, however many of its entries it hit.
		if k := (cutoverKey{h.File, h.Action}); !counted[k] {
			counted[k] = true
			m.Cutovers.WithLabelValues(h.File, h.Action).Inc()
		}
	}
	m.MessageDuration.Observe(elapsed.Seconds())
}

// orDash is the label value of an empty connector or tenant: the Internet's.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
