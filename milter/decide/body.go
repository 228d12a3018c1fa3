package decide

import (
	"errors"

	"github.com/edgerewrite/edgerewrite/rewrite"
)

// Body states of a message, for the log line and the metrics.
const (
	bodyNotRead  = ""          // never asked for (no candidate for calendar data)
	bodyRead     = "read"      // read whole; calendar data checked
	bodyTooLarge = "too-large" // over calendar_max_bytes: passed unread, calendar unchanged
)

// WantsBody reports, once the headers are in, whether the message's body is to be read for
// calendar data: its direction's switch is on, its Content-Type can hold a calendar part, and
// (inbound, "unsigned") no DKIM signature covers it. The milter session skips the body of
// every other message (SMFIR_SKIP), so plain mail costs no body transfer.
func (m *Message) WantsBody() bool {
	o := m.gen.Options
	switch {
	case m.class.Outbound && !o.CalendarOutbound:
		return false
	case !m.class.Outbound && o.CalendarInbound != "always" && (o.CalendarInbound != "unsigned" || rewrite.BodySigned(m.in.Headers)):
		return false
	}
	return rewrite.CalendarCandidate(m.in.Headers)
}

// BodyChunk appends a chunk of the body and reports whether more is wanted: false once the
// body is over the size limit, which drops what was read (the calendar data then passes
// unchanged and the message is counted as too large).
func (m *Message) BodyChunk(chunk []byte) bool {
	if m.bodyState == bodyTooLarge {
		return false
	}
	limit := m.gen.Options.CalendarMaxBytes
	if limit <= 0 {
		limit = rewrite.DefaultCalendarMaxBytes
	}
	if len(m.body)+len(chunk) > limit {
		m.body, m.bodyState = nil, bodyTooLarge
		return false
	}
	m.body = append(m.body, chunk...)
	m.bodyState = bodyRead
	return true
}

// calendar rewrites the calendar data of the body read, in the message's direction, with the
// generation's rules; it fills the outcome's calendar result and the body replacement.
func (m *Message) calendar(out *Outcome, lookup rewrite.Lookup) {
	out.BodyState = m.bodyState
	if m.bodyState != bodyRead {
		return
	}
	dir := rewrite.Inbound
	if m.class.Outbound {
		dir = rewrite.Outbound
	}
	res, err := rewrite.RewriteCalendar(m.in.Headers, m.body, rewrite.LookupAddresses(lookup, dir),
		rewrite.CalendarOptions{MaxBytes: m.gen.Options.CalendarMaxBytes})
	switch {
	case errors.Is(err, rewrite.ErrCalendarTooLarge):
		out.BodyState = bodyTooLarge
		return
	case err != nil:
		out.CalendarErr = err
		return
	}
	out.Calendar = res.Changes
	if res.Changed() {
		out.Actions = append(out.Actions, Action{Kind: ReplaceBody, Body: res.Body})
	}
}
