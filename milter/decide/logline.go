package decide

import (
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/edgerewrite/edgerewrite/policy"
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
	attrs := []slog.Attr{
		slog.String("qid", in.QueueID),
		slog.String("client", clientString(in.Conn)),
		slog.String("connector", orDash(o.Class.Connector)),
		slog.String("tenant", orDash(o.Class.Tenant)),
		slog.String("direction", Direction(o.Class)),
		slog.String("verdict", o.Action().String()),
	}
	if o.Observe {
		attrs = append(attrs, slog.String("observe", o.Verdict.Action.String()))
	}
	if o.Verdict.Reason != "" {
		attrs = append(attrs, slog.String("reason", o.Verdict.Reason))
	}
	if r := o.Verdict.Reply(); r != "" {
		attrs = append(attrs, slog.String("reply", r))
	}
	rewrites := make(strList, 0, len(o.Changes))
	for _, c := range o.Changes {
		rewrites = append(rewrites, c.Field+":"+c.Old+"->"+c.New)
	}
	attrs = append(attrs, slog.Any("rewrites", rewrites))
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

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
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
	return append(b, '"')
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
