package milter

import (
	"context"
	"log/slog"
	"net/textproto"
	"time"

	"github.com/edgerewrite/edgerewrite/milter/decide"
)

// logMessage writes the message's one log line.
func (s *Server) logMessage(in *decide.Input, out *decide.Outcome, elapsed time.Duration) {
	attrs := append(out.LogAttrs(in), slog.Float64("duration", elapsed.Seconds()))
	s.log.LogAttrs(context.Background(), slog.LevelInfo, "message", attrs...)
}

// countMessage updates the per-message metrics.
func (s *Server) countMessage(out *decide.Outcome, elapsed time.Duration) {
	m := s.metrics
	m.Messages.WithLabelValues(decide.Direction(out.Class), out.Action().String()).Inc()
	if out.Apply() {
		for _, c := range out.Plan.Changes() {
			field := c.Field
			if field != "mail-from" && field != "rcpt" {
				field = textproto.CanonicalMIMEHeaderKey(field)
			}
			m.Rewrites.WithLabelValues(field).Inc()
		}
	}
	m.HeadersUnparsed.Add(float64(len(out.Plan.Skipped)))
	for _, k := range out.Plan.Kept {
		m.HeadersKeptSigned.WithLabelValues(textproto.CanonicalMIMEHeaderKey(k.Name)).Inc()
	}
	m.MessageDuration.Observe(elapsed.Seconds())
}
