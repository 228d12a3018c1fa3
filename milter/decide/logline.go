package decide

import (
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/edgerewrite/edgerewrite/policy"
	"github.com/edgerewrite/edgerewrite/rewrite"
)

// LogAttrs are the fields of the one log line per message (msg "message", level info), the
// message tracking an Exchange Edge admin had:
//
//	qid, client ("name[addr]"), connector and tenant ("-" for the Internet), direction,
//	verdict (what the MTA was told: accept, reject, tempfail, hold), observe (in observe mode:
//	the verdict that was not enforced), reason, reply (for refusals), rewrites
//	("field:old->new", in observe mode those that were not made), refused (recipients refused
//	at RCPT, with their reply), unparsed (headers left alone), cutover (the cutover list
//	file entries, "file:line", that held the message or deferred recipients), and always the
//	envelope sender (from, and from_new when rewritten) and every recipient (rcpts: "addr", or
//	"addr->new" when rewritten), so that a search for any address of a message finds its line.
//
// Lists are strList values, which encode themselves: no reflection per message.
func (o *Outcome) LogAttrs(in *Input) []slog.Attr {
	// Room for every field a line usually has, and the caller's duration, so the list is
	// allocated once.
	attrs := make([]slog.Attr, 0, 16)
	attrs = append(attrs,
		slog.String("qid", in.QueueID),
		slog.String("client", clientString(in.Conn)),
		slog.String("connector", orDash(o.Class.Connector)),
		slog.String("tenant", orDash(o.Class.Tenant)),
		slog.String("direction", Direction(o.Class)),
		slog.String("verdict", o.Action().String()),
	)
	if o.Observe {
		attrs = append(attrs, slog.String("observe", o.Verdict.Action.String()))
	}
	if o.Verdict.Reason != "" {
		attrs = append(attrs, slog.String("reason", o.Verdict.Reason))
	}
	if r := o.Verdict.Reply(); r != "" {
		attrs = append(attrs, slog.String("reply", r))
	}
	attrs = append(attrs, slog.Any("rewrites", changeList(o.Changes)))
	var refused strList
	for _, r := range o.Rcpts {
		if r.Refused() {
			refused = append(refused, fmt.Sprintf("%s: %s (%s)", r.Addr, r.Result.Verdict.Reply(), r.Result.Verdict.Reason))
		}
	}
	if refused != nil {
		attrs = append(attrs, slog.Any("refused", refused))
	}
	var entries strList
	for _, h := range o.CutoverHits() {
		if h.File != CutoverTable {
			entries = append(entries, h.Entry)
		}
	}
	if entries != nil {
		attrs = append(attrs, slog.Any("cutover", entries))
	}
	if len(o.Plan.Skipped) > 0 {
		var unparsed strList
		for _, sk := range o.Plan.Skipped {
			unparsed = append(unparsed, fmt.Sprintf("%s[%d]: %v", sk.Name, sk.Index, sk.Err))
		}
		attrs = append(attrs, slog.Any("unparsed", unparsed))
	}
	if len(o.Plan.NeedUTF8) > 0 {
		var held strList
		for _, c := range o.Plan.NeedUTF8 {
			held = append(held, c.Field+":"+c.Old+"->"+c.New)
		}
		attrs = append(attrs, slog.Any("not_rewritten_needs_smtputf8", held))
	}
	if len(o.Plan.Kept) > 0 {
		// What inbound_header_rewrite = "unsigned" left alone, so that an admin asked why To
		// still shows the shared domain finds the answer in the log.
		var kept strList
		for _, k := range o.Plan.Kept {
			for _, c := range k.Addrs {
				kept = append(kept, c.Field+":"+c.Old+"->"+c.New)
			}
		}
		attrs = append(attrs, slog.Any("not_rewritten_dkim_signed", kept))
	}
	attrs = append(attrs, slog.String("from", in.From))
	if s := o.Plan.Sender; s != nil && s.New != s.Old {
		attrs = append(attrs, slog.String("from_new", s.New))
	}
	rcpts := make(strList, len(in.Rcpts))
	for i, r := range in.Rcpts {
		rcpts[i] = r.Addr
	}
	for _, rc := range o.Plan.Rcpts {
		for i, r := range in.Rcpts {
			if r.Addr == rc.Old && rcpts[i] == r.Addr {
				rcpts[i] = rc.Old + "->" + rc.New
				break
			}
		}
	}
	attrs = append(attrs, slog.Any("rcpts", rcpts))
	return attrs
}

// strList is a list of strings in the log line. It encodes itself for both of slog's
// handlers, as a JSON array of strings or as comma-separated text, so a message's line costs
// no reflection.
type strList []string

// MarshalJSON writes the list as a JSON array of strings (RFC 8259 §7 escaping; bytes that are
// not UTF-8 become U+FFFD, as encoding/json does).
func (l strList) MarshalJSON() ([]byte, error) {
	n := 2
	for _, s := range l {
		n += len(s) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']'), nil
}

// MarshalText writes the list comma-separated, for the text handler.
func (l strList) MarshalText() ([]byte, error) {
	return []byte(strings.Join(l, ",")), nil
}

// changeList is a list of changed addresses in the log line, each "field:old->new". It is
// written as strList writes those strings, straight from the changes, so that a message's
// line builds no string per change.
type changeList []rewrite.Change

// MarshalJSON writes the list as strList.MarshalJSON writes the strings. Escaping the three
// parts one by one is escaping their concatenation: the separators are ASCII, so no UTF-8
// sequence spans two parts.
func (l changeList) MarshalJSON() ([]byte, error) {
	n := 2
	for _, c := range l {
		n += len(c.Field) + len(c.Old) + len(c.New) + 9
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, c := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = appendJSONChars(b, c.Field)
		b = append(b, ':')
		b = appendJSONChars(b, c.Old)
		b = append(b, '-', '>')
		b = appendJSONChars(b, c.New)
		b = append(b, '"')
	}
	return append(b, ']'), nil
}

// MarshalText writes the list comma-separated, for the text handler.
func (l changeList) MarshalText() ([]byte, error) {
	n := 0
	for _, c := range l {
		n += len(c.Field) + len(c.Old) + len(c.New) + 4
	}
	b := make([]byte, 0, n)
	for i, c := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(append(append(append(append(b, c.Field...), ':'), c.Old...), "->"...), c.New...)
	}
	return b, nil
}

// String is the list as fmt prints a strList of its strings.
func (l changeList) String() string {
	s := make([]string, len(l))
	for i, c := range l {
		s[i] = c.Field + ":" + c.Old + "->" + c.New
	}
	return fmt.Sprint(s)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	return append(appendJSONChars(append(b, '"'), s), '"')
}

// appendJSONChars appends s escaped for the inside of a JSON string.
func appendJSONChars(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}

// Direction names the direction of class cl: "inbound" or "outbound".
func Direction(cl policy.Class) string {
	if cl.Outbound {
		return "outbound"
	}
	return "inbound"
}

func clientString(c policy.Conn) string {
	addr := ""
	if c.Addr.IsValid() {
		addr = c.Addr.String()
	}
	name := c.Name
	if name == "" {
		name = "unknown"
	}
	return name + "[" + addr + "]"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
