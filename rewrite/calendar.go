package rewrite

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/emersion/go-message"
)

// Calendar data: the mailto: addresses of ORGANIZER and ATTENDEE in text/calendar parts and
// application/ics attachments (RFC 5545 §3.8.4.1, §3.8.4.3). A meeting response from
// john@tenanta.contoso.com must name john@contoso.com, the address the partner invited, or the
// partner's calendar cannot match the answer to the invitee.
//
// The body is never re-rendered: go-message parses the part headers, the part boundaries are
// found as byte offsets, and only the content of a changed calendar part is replaced. Its
// headers, every other part, the preamble and epilogue keep their bytes.

// ErrCalendarTooLarge is wrapped by the error RewriteCalendar returns for a body over
// CalendarOptions.MaxBytes; the body is left as it is.
var ErrCalendarTooLarge = errors.New("body too large for calendar rewriting")

// ErrMalformedMIME is wrapped by the error RewriteCalendar returns when the MIME structure
// cannot be followed with certainty (a multipart without boundary or without its closing
// delimiter, a calendar part whose transfer encoding does not decode). The body is then left
// as it is: a recipient's parser may see other parts than we would.
var ErrMalformedMIME = errors.New("malformed MIME structure")

// ErrMIMETooDeep is wrapped by the error RewriteCalendar returns when multiparts nest deeper
// than CalendarOptions.MaxDepth; the body is left as it is.
var ErrMIMETooDeep = errors.New("MIME parts nested too deep")

// Defaults for CalendarOptions.
const (
	// DefaultCalendarMaxBytes lets through invitations with the usual attachments.
	DefaultCalendarMaxBytes = 8 << 20
	// DefaultCalendarMaxDepth is well above Outlook's deepest structure (mixed, related,
	// alternative).
	DefaultCalendarMaxDepth = 10
)

// CalendarOptions bound the work RewriteCalendar does on one body.
type CalendarOptions struct {
	// MaxBytes: a larger body is not looked at (ErrCalendarTooLarge). 0 means
	// DefaultCalendarMaxBytes.
	MaxBytes int
	// MaxDepth: how deep multiparts may nest, the top-level one being depth 1
	// (ErrMIMETooDeep). 0 means DefaultCalendarMaxDepth.
	MaxDepth int
}

// AddressFunc answers for one address of calendar data: the new address and the rule that
// matched, or ok=false to leave it alone.
type AddressFunc func(addr string) (out string, rule *Rule, ok bool)

// LookupAddresses returns the AddressFunc that asks l in each direction of ds in turn and takes
// the first match: Outbound for outbound mail, Inbound for inbound, Outbound then Inbound for a
// hairpin, the same order Compute tries To and Cc in.
func LookupAddresses(l Lookup, ds ...Direction) AddressFunc {
	return func(addr string) (string, *Rule, bool) {
		for _, d := range ds {
			if out, r, ok := l.Rewrite(addr, d); ok {
				return out, r, true
			}
		}
		return addr, nil, false
	}
}

// CalendarChange is one rewritten ORGANIZER or ATTENDEE address.
type CalendarChange struct {
	// Part is the MIME part number as IMAP counts (RFC 3501 §6.4.5): "1" for a body that is
	// itself the calendar, "2" or "1.3" inside multiparts.
	Part string
	// Property is the property name as written, ORGANIZER or ATTENDEE in any case.
	Property string
	Old, New string
	// Before and After are the whole content line, unfolded, for `edgerewrite test`.
	Before, After string
	Rule          *Rule
}

// Change returns c as the per-message log line's "field:old->new" entry; the field is
// "calendar-organizer" or "calendar-attendee".
func (c CalendarChange) Change() Change {
	return Change{Field: "calendar-" + strings.ToLower(c.Property), Old: c.Old, New: c.New, Rule: c.Rule}
}

// CalendarResult is what RewriteCalendar made of one body.
type CalendarResult struct {
	// Body is the new body, or the very slice given when nothing changed.
	Body []byte
	// Changes lists the rewritten addresses in body order; empty when nothing changed.
	Changes []CalendarChange
}

// Changed reports whether the body must be replaced.
func (r CalendarResult) Changed() bool { return len(r.Changes) > 0 }

// CalendarCandidate reports whether a message with these top-level header fields can hold
// calendar data RewriteCalendar would rewrite: a multipart (but not multipart/signed or
// multipart/encrypted, whose content is never changed), text/calendar or application/ics.
// Anything else (text/plain, text/html, a missing or unparsable Content-Type, message/rfc822)
// does not need its body read.
func CalendarCandidate(header []Header) bool {
	h := topHeader(header)
	mt, _, err := h.ContentType()
	if err != nil {
		return false
	}
	switch {
	case isCalendarType(mt):
		return true
	case strings.HasPrefix(mt, "multipart/"):
		return !isSealed(mt)
	}
	return false
}

// RewriteCalendar rewrites, through rw, the mailto: address of every ORGANIZER and ATTENDEE
// property in the calendar parts (text/calendar, application/ics) of a message body. header
// is the message's top-level header fields (only Content-Type and Content-Transfer-Encoding
// are read); body is the body as the MTA passes it, CRLF or LF line endings.
//
// Left alone: everything inside multipart/signed and multipart/encrypted, application/pkcs7-mime
// and application/ms-tnef (winmail.dat) parts, embedded messages (message/rfc822, as Exchange
// never rewrites inside them), part headers, other properties and parameters (SENT-BY
// included), and calendar parts in an unknown transfer encoding or a charset that is not
// ASCII-compatible (UTF-16). A rewritten content line is folded again at 75 octets where it
// needs it; other lines keep their bytes and folding. The changed part keeps its transfer
// encoding: base64 with the original line length, quoted-printable re-encoded only for the
// changed lines.
//
// An answer of rw that cannot stand in a calendar address (no '@', white space or control
// characters, 8-bit in a 7bit part) leaves that address alone. On error (ErrCalendarTooLarge,
// ErrMIMETooDeep, ErrMalformedMIME) the result holds the body unchanged and no changes.
func RewriteCalendar(header []Header, body []byte, rw AddressFunc, o CalendarOptions) (CalendarResult, error) {
	res := CalendarResult{Body: body}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultCalendarMaxBytes
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultCalendarMaxDepth
	}
	if len(body) > o.MaxBytes {
		return res, fmt.Errorf("%w: %d bytes, the limit is %d", ErrCalendarTooLarge, len(body), o.MaxBytes)
	}
	w := calendarWalker{body: body, rw: rw, maxDepth: o.MaxDepth}
	if err := w.entity(topHeader(header), 0, len(body), "", 0); err != nil {
		return res, err
	}
	if len(w.changes) == 0 {
		return res, nil
	}
	n := len(body)
	for _, s := range w.splices {
		n += len(s.repl) - (s.end - s.start)
	}
	out := make([]byte, 0, n)
	last := 0
	for _, s := range w.splices {
		out = append(out, body[last:s.start]...)
		out = append(out, s.repl...)
		last = s.end
	}
	res.Body = append(out, body[last:]...)
	res.Changes = w.changes
	return res, nil
}

// splice replaces body[start:end] with repl.
type splice struct {
	start, end int
	repl       []byte
}

// calendarWalker follows the MIME structure of one body and collects the splices, in body
// order, and the changes behind them.
type calendarWalker struct {
	body     []byte
	rw       AddressFunc
	maxDepth int
	splices  []splice
	changes  []CalendarChange
}

// entity looks at the entity with header h whose content is w.body[start:end]; path is its
// part number ("" for the top level).
func (w *calendarWalker) entity(h message.Header, start, end int, path string, depth int) error {
	mt, params, err := h.ContentType()
	if err != nil {
		return nil // unparsable Content-Type: not calendar data we could be sure of
	}
	switch {
	case isCalendarType(mt):
		if path == "" {
			path = "1"
		}
		return w.calendar(h, params, start, end, path)
	case !strings.HasPrefix(mt, "multipart/") || isSealed(mt):
		return nil
	}
	if depth >= w.maxDepth {
		return fmt.Errorf("%w: part %s is a %s at depth %d, the limit is %d", ErrMIMETooDeep, partName(path), mt, depth+1, w.maxDepth)
	}
	boundary := params["boundary"]
	if boundary == "" {
		return fmt.Errorf("%w: part %s is a %s without boundary", ErrMalformedMIME, partName(path), mt)
	}
	parts, err := splitMultipart(w.body[start:end], boundary)
	if err != nil {
		return fmt.Errorf("%w: part %s (%s): %v", ErrMalformedMIME, partName(path), mt, err)
	}
	for i, p := range parts {
		ph, off, ok := readPartHeader(w.body[start+p.start : start+p.end])
		if !ok {
			continue // a part whose header does not parse is left alone, like any non-calendar part
		}
		sub := strconv.Itoa(i + 1)
		if path != "" {
			sub = path + "." + sub
		}
		if err := w.entity(ph, start+p.start+off, start+p.end, sub, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// partName names a part in an error: "top level" or "2.1".
func partName(path string) string {
	if path == "" {
		return "top level"
	}
	return path
}

// calendar rewrites the calendar part with header h and parameters params whose content is
// w.body[start:end].
func (w *calendarWalker) calendar(h message.Header, params map[string]string, start, end int, path string) error {
	cs := strings.ToLower(params["charset"])
	if strings.HasPrefix(cs, "utf-16") || strings.HasPrefix(cs, "utf-32") || strings.HasPrefix(cs, "ucs-") {
		return nil // not ASCII-compatible: the ASCII scan would see noise
	}
	content := w.body[start:end]
	cte := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding")))
	var c transferCoding
	switch cte {
	case "", "7bit":
		c = identityCoding{ascii: true}
	case "8bit", "binary":
		c = identityCoding{}
	case "base64":
		c = &base64Coding{}
	case "quoted-printable":
		c = &qpCoding{}
	default:
		return nil // x-uuencode and the like: no calendar client sends them
	}
	text, err := c.decode(content)
	if err != nil {
		return fmt.Errorf("%w: calendar part %s: %s: %v", ErrMalformedMIME, path, cte, err)
	}
	edits := rewriteICal(text, w.rw, c.asciiOnly())
	if len(edits) == 0 {
		return nil
	}
	repl := c.encode(content, text, edits)
	w.splices = append(w.splices, splice{start: start, end: end, repl: repl})
	for _, e := range edits {
		e.change.Part = path
		w.changes = append(w.changes, e.change)
	}
	return nil
}

// isCalendarType: the media types of iCalendar data (RFC 5545 §8.1). application/ics is not
// registered but is what many clients attach invitation.ics as.
func isCalendarType(mt string) bool { return mt == "text/calendar" || mt == "application/ics" }

// isSealed: multiparts whose content a signature or encryption covers (RFC 1847); changing a
// byte inside breaks them.
func isSealed(mt string) bool { return mt == "multipart/signed" || mt == "multipart/encrypted" }

// topHeader builds a go-message header of the message's Content-Type and
// Content-Transfer-Encoding fields, unfolded.
func topHeader(header []Header) message.Header {
	var h message.Header
	for _, f := range header {
		if strings.EqualFold(f.Name, "Content-Type") || strings.EqualFold(f.Name, "Content-Transfer-Encoding") {
			h.Add(f.Name, unfoldValue(f.Value))
		}
	}
	return h
}

// unfoldValue removes the line breaks of a folded header value and the surrounding space, as
// RFC 5322 §2.2.3 unfolding does.
func unfoldValue(v string) string {
	if !strings.ContainsAny(v, "\r\n") {
		return strings.TrimSpace(v)
	}
	v = strings.NewReplacer("\r\n", "", "\n", "", "\r", "").Replace(v)
	return strings.TrimSpace(v)
}
