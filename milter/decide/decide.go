package decide

import (
	"strings"
	"time"

	"github.com/edgerewrite/edgerewrite/policy"
	"github.com/edgerewrite/edgerewrite/rewrite"
)

// Rcpt is one envelope recipient as the client sent it, with the ESMTP arguments of its RCPT TO
// (RFC 3461: NOTIFY=..., ORCPT=...).
type Rcpt struct {
	Addr string
	Args []string
}

// Input is everything one decision is made from: what the milter session collected, or what
// `edgerewrite test` was given.
type Input struct {
	Conn    policy.Conn
	QueueID string
	// From is the envelope sender without angle brackets; "" is the null sender.
	From string
	// SMTPUTF8 is set when MAIL FROM carried the SMTPUTF8 parameter (RFC 6531): only then may
	// a rewritten address hold UTF-8 (see rewrite.PlanOptions.SMTPUTF8).
	SMTPUTF8 bool
	Rcpts    []Rcpt
	// Headers are the header fields in message order, values as the MTA sent them (leading
	// space and folding kept).
	Headers []rewrite.Header
	// Body is the message body when the whole message is given at once (Decide); the milter
	// session streams it in chunks instead.
	Body []byte
}

// RcptOutcome is the decision for one envelope recipient, made once, at its RCPT.
type RcptOutcome struct {
	Addr string
	// Resolved is true when a rule rewrites the address inbound.
	Resolved bool
	Result   policy.RcptResult
}

// Refused reports whether the policy refuses this recipient (reject or tempfail).
func (r RcptOutcome) Refused() bool {
	a := r.Result.Verdict.Action
	return a == policy.Reject || a == policy.Tempfail
}

// HoldHeader is the header field added to a message a cutover list file holds, naming the
// entry: "X-Edgerewrite-Hold: wave-07.cutover:12 (cutover-hold: anna@fabrikam.com)". Postfix
// drops a milter's quarantine reason, so this is how `postcat -hq` tells one wave's held
// mail from the rest.
const HoldHeader = "X-Edgerewrite-Hold"

// Outcome is what edgerewrite decides for one message.
type Outcome struct {
	Class policy.Class
	// Rcpts are the per-recipient decisions, one per Input.Rcpts in the same order.
	Rcpts []RcptOutcome
	// Verdict is the message's verdict: accept, reject, tempfail or hold (quarantine).
	Verdict policy.Verdict
	// RewriteSender is false when the pilot scope excludes the sender.
	RewriteSender bool
	// Observe: everything is decided and logged, but nothing is refused or changed.
	Observe bool
	// Plan is the rewrite plan. It is computed for an accepted or held message (a held message
	// is rewritten and quarantined, so it leaves rewritten when released), and in observe mode
	// always (to log what would change); it is empty for refused messages. For a message a
	// cutover list file holds it has no recipient changes, and inbound none at all: the
	// recipients are decided again when it is released.
	Plan rewrite.Plan
	// Actions are the milter actions the plan becomes, in the order they are sent.
	Actions []Action
	// Changes are the plan's changed addresses (Plan.Changes) and the calendar data's,
	// computed once for the log line and the metrics.
	Changes []rewrite.Change
	// BodyState says what was done with the body: "" (not read: no calendar data possible,
	// or its direction's switch is off), "read", or "too-large" (over calendar_max_bytes).
	BodyState string
	// Calendar are the rewritten ORGANIZER and ATTENDEE addresses; CalendarErr is why
	// calendar data that was read was left alone (malformed MIME, nesting too deep).
	Calendar    []rewrite.CalendarChange
	CalendarErr error
}

// Action returns what the MTA is told at end of message: the verdict's action, or Accept in
// observe mode.
func (o *Outcome) Action() policy.Action {
	if o.Observe {
		return policy.Accept
	}
	return o.Verdict.Action
}

// Apply reports whether the Actions are sent to the MTA (accepted or held, not observing).
func (o *Outcome) Apply() bool {
	a := o.Action()
	return (a == policy.Accept || a == policy.Hold) && !o.Observe
}

// Message is one message being decided: the generation it started on, its class (decided
// once, at Begin), what was collected so far, and each recipient's outcome (decided once, at
// Recipient). End turns it into the Outcome. A Message is used by one goroutine.
type Message struct {
	gen       *Generation
	start     time.Time
	class     policy.Class
	in        Input
	rcpts     []RcptOutcome
	body      []byte // the body read for calendar data (see WantsBody)
	bodyState string
	memo      memoLookup // every lookup of the message, done once (see lookup)
}

// lookup is the generation's rules as the message uses them: an address is looked up once per
// direction, however many times the message names it (a recipient at RCPT and again in the
// plan, the envelope sender and From). The rules of a generation never change, so a result
// once found stays the answer.
func (m *Message) lookup() rewrite.Lookup {
	if m.memo.l == nil {
		m.memo.l = m.gen.lookup()
		m.memo.entries = m.memo.buf[:0]
	}
	return &m.memo
}

// memoLookup remembers the lookups of one message. A message names a dozen addresses or so,
// so a list beats a map.
type memoLookup struct {
	l       rewrite.Lookup
	entries []memoEntry
	buf     [12]memoEntry // entries' first backing array, inside the Message
}

type memoEntry struct {
	addr, out string
	dir       rewrite.Direction
	rule      *rewrite.Rule
	ok        bool
}

func (m *memoLookup) Rewrite(addr string, d rewrite.Direction) (string, *rewrite.Rule, bool) {
	for i := range m.entries {
		if e := &m.entries[i]; e.dir == d && e.addr == addr {
			return e.out, e.rule, e.ok
		}
	}
	out, rule, ok := m.l.Rewrite(addr, d)
	m.entries = append(m.entries, memoEntry{addr: addr, out: out, dir: d, rule: rule, ok: ok})
	return out, rule, ok
}

// Generation is the generation the message is decided by.
func (m *Message) Generation() *Generation { return m.gen }

// Class is the message's class: direction, connector, tenant, observe mode.
func (m *Message) Class() policy.Class { return m.class }

// Start is the time the message began.
func (m *Message) Start() time.Time { return m.start }

// Input is what the message collected so far.
func (m *Message) Input() *Input { return &m.in }

// Recipient decides the envelope recipient addr (with the ESMTP arguments of its RCPT TO):
// whether the rules resolve it inbound and what the policy says (authoritative domains,
// cutover, routing fallback). The outcome is kept for End, and a refused recipient is not part
// of the message unless in observe mode.
func (m *Message) Recipient(addr string, args []string) RcptOutcome {
	_, _, resolved := m.lookup().Rewrite(addr, rewrite.Inbound)
	ro := RcptOutcome{Addr: addr, Resolved: resolved, Result: m.gen.Policy.Recipient(m.class, addr, resolved, m.start)}
	m.in.Rcpts = append(m.in.Rcpts, Rcpt{Addr: addr, Args: args})
	m.rcpts = append(m.rcpts, ro)
	return ro
}

// MailArgs records the ESMTP parameters of MAIL FROM (SMTPUTF8 is the one that matters).
func (m *Message) MailArgs(args []string) {
	for _, a := range args {
		if k, _, _ := strings.Cut(a, "="); strings.EqualFold(k, "SMTPUTF8") {
			m.in.SMTPUTF8 = true
		}
	}
}

// Header records one header field, its value as the MTA sent it.
func (m *Message) Header(name, value string) {
	m.in.Headers = append(m.in.Headers, rewrite.Header{Name: name, Value: value})
}

// Decide is the whole decision for a message given at once, on generation g at time now:
// Begin, Recipient for each recipient, Header for each header, End. `edgerewrite test` and the
// tests use it; the daemon's session makes the same calls as the events arrive.
func Decide(g *Generation, in Input, now time.Time) Outcome {
	m := g.Begin(in.Conn, in.From, now)
	m.in.SMTPUTF8 = in.SMTPUTF8
	for _, r := range in.Rcpts {
		m.Recipient(r.Addr, r.Args)
	}
	for _, h := range in.Headers {
		m.Header(h.Name, h.Value)
	}
	if in.Body != nil && m.WantsBody() {
		m.BodyChunk(in.Body)
	}
	return m.End(in.QueueID)
}

// End decides the message as a whole from what was collected: the message-level policy
// (tenant attribution, hold), the verdict, the rewrite plan and the milter actions, all from
// the message's one generation. It does no I/O and changes nothing but the message's queue ID.
func (m *Message) End(queueID string) Outcome {
	m.in.QueueID = queueID
	g, cl, in := m.gen, m.class, &m.in
	out := Outcome{Class: cl, Observe: cl.Observe, Rcpts: m.rcpts}

	// Recipients the message keeps: refused ones are gone (Postfix dropped them at RCPT),
	// except in observe mode where nothing is refused.
	var kept []Rcpt
	var firstRefused *RcptOutcome
	accepted := 0 // recipients the policy accepts, observe mode or not
	for i, r := range in.Rcpts {
		if out.Rcpts[i].Refused() {
			if firstRefused == nil {
				firstRefused = &out.Rcpts[i]
			}
			if !cl.Observe {
				continue
			}
		} else {
			accepted++
		}
		kept = append(kept, r)
	}

	// Each address field is read once: policy judges, and Compute rewrites, the same reading.
	fields := rewrite.ReadAddressFields(in.Headers)
	msg := policy.Message{From: in.From, Rcpts: rcptAddrs(kept), Fields: fields}
	for _, h := range in.Headers {
		if strings.EqualFold(h.Name, "X-MS-Exchange-CrossTenant-Id") {
			msg.CrossTenantIDs = append(msg.CrossTenantIDs, strings.TrimSpace(h.Value))
		}
	}
	mres := g.Policy.Message(cl, msg, m.start)
	out.Verdict = mres.Verdict
	out.RewriteSender = mres.RewriteSender
	if out.Verdict.Action == policy.Accept && accepted == 0 && firstRefused != nil {
		// Every recipient was refused: the message is refused as its first recipient was (in
		// observe mode: would have been, which is what the log line must say).
		out.Verdict = firstRefused.Result.Verdict
	}
	if (out.Verdict.Action == policy.Reject || out.Verdict.Action == policy.Tempfail) && !out.Observe {
		return out
	}
	// A wave holds mail while its users' mailboxes move, and their rules switch when the move is
	// done: the recipients are held as they came, and decided again by the rules then in
	// service when the message is released by handing it to sendmail (non_smtpd_milters).
	// Inbound, nothing is changed now (a To rewritten to the old tenant would stay so);
	// outbound, the sender side is, as the release decides the message as Internet mail.
	// Postfix keeps no quarantine reason, hence the header naming the entry.
	waveHold := out.Verdict.Action == policy.Hold && out.Verdict.Source != "" && !out.Observe
	holdHeader := Action{Kind: AddHeader, Name: HoldHeader, Value: " " + out.Verdict.Source + " (" + out.Verdict.Reason + ")"}
	if waveHold && !cl.Outbound {
		out.Actions = []Action{holdHeader}
		return out
	}

	opts := g.Options
	ro := rewrite.PlanOptions{Recipients: true, SMTPUTF8: in.SMTPUTF8}
	if cl.Outbound {
		ro.Sender = mres.RewriteSender
		ro.OutboundToCc = opts.RewriteOutboundToCc && mres.RewriteSender
	} else {
		ro.InboundToCc, ro.KeepSigned = inboundHeaders(opts.InboundHeaderRewrite)
	}
	routes := make(map[string]string)
	for _, r := range out.Rcpts {
		if r.Result.Route != "" {
			routes[r.Addr] = r.Result.Route
		}
	}
	if len(routes) > 0 {
		ro.RcptFallback = func(addr string) (string, bool) {
			route, ok := routes[addr]
			return route, ok
		}
	}
	if waveHold {
		ro.Recipients, ro.RcptFallback = false, nil
	}
	out.Plan = rewrite.Compute(m.lookup(), ro, rewrite.Message{From: in.From, Rcpts: msg.Rcpts, Headers: in.Headers, Fields: fields})
	out.Actions = PlanActions(out.Plan, kept)
	m.calendar(&out, m.lookup())
	out.Changes = out.Plan.Changes()
	for _, c := range out.Calendar {
		out.Changes = append(out.Changes, c.Change())
	}
	if waveHold {
		out.Actions = append(out.Actions, holdHeader)
	}
	return out
}

func rcptAddrs(rs []Rcpt) []string {
	addrs := make([]string, len(rs))
	for i, r := range rs {
		addrs[i] = r.Addr
	}
	return addrs
}
