package decide

import (
	"fmt"
	"log/slog"

	"github.com/edgerewrite/edgerewrite/policy"
)

// LogAttrs are the fields of the one log line per message (msg "message", level info), the
// message tracking an Exchange Edge admin had:
//
//	qid, client ("name[addr]"), connector and tenant ("-" for the Internet), direction,
//	verdict (what the MTA was told: accept, reject, tempfail, hold), observe (in observe mode:
//	the verdict that was not enforced), reason, reply (for refusals), rewrites
//	("field:old->new", in observe mode those that were not made), refused (recipients refused
//	at RCPT, with their reply), unparsed (headers left alone), and for deferred or held
//	attempts the sender and every recipient (the cutover record).
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
	var rewrites []string
	for _, c := range o.Plan.Changes() {
		rewrites = append(rewrites, c.Field+":"+c.Old+"->"+c.New)
	}
	attrs = append(attrs, slog.Any("rewrites", rewrites))
	record := o.Verdict.Action == policy.Tempfail || o.Verdict.Action == policy.Hold
	var refused []string
	for _, r := range o.Rcpts {
		if r.Refused() {
			refused = append(refused, fmt.Sprintf("%s: %s (%s)", r.Addr, r.Result.Verdict.Reply(), r.Result.Verdict.Reason))
			record = record || r.Result.Verdict.Action == policy.Tempfail
		}
	}
	if refused != nil {
		attrs = append(attrs, slog.Any("refused", refused))
	}
	if len(o.Plan.Skipped) > 0 {
		var unparsed []string
		for _, sk := range o.Plan.Skipped {
			unparsed = append(unparsed, fmt.Sprintf("%s[%d]: %v", sk.Name, sk.Index, sk.Err))
		}
		attrs = append(attrs, slog.Any("unparsed", unparsed))
	}
	if len(o.Plan.Kept) > 0 {
		// What inbound_header_rewrite = "unsigned" left alone, so that a user asking why To
		// still shows the shared domain finds the answer in the log.
		var kept []string
		for _, k := range o.Plan.Kept {
			kept = append(kept, fmt.Sprintf("%s[%d]", k.Name, k.Index))
		}
		attrs = append(attrs, slog.Any("kept_signed", kept))
	}
	if record {
		attrs = append(attrs, slog.String("from", in.From), slog.Any("rcpts", rcptAddrs(in.Rcpts)))
	}
	return attrs
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
