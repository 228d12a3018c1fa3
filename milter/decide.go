package milter

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
	From  string
	Rcpts []Rcpt
	// Headers are the header fields in message order, values as the MTA sent them (leading
	// space and folding kept).
	Headers []rewrite.Header
}

// DecideOptions are the settings a decision depends on besides rules and policy.
type DecideOptions struct {
	// RewriteOutboundToCc: see Settings.RewriteOutboundToCc.
	RewriteOutboundToCc bool
}

// RcptOutcome is the decision for one envelope recipient. The RCPT stage of a session and
// Decide compute it with the same function, DecideRecipient.
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
	// always (to log what would change); it is empty for refused messages.
	Plan rewrite.Plan
	// Actions are the milter actions the plan becomes, in the order they are sent.
	Actions []Action
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

// DecideRecipient decides one envelope recipient for a message of class cl: whether the
// snapshot resolves it inbound and what the policy says (authoritative domains, cutover,
// routing fallback).
func DecideRecipient(cl policy.Class, rcpt string, snap *rewrite.Snapshot, pol *policy.Policy, now time.Time) RcptOutcome {
	_, _, resolved := lookupOf(snap).Rewrite(rcpt, rewrite.Inbound)
	return RcptOutcome{Addr: rcpt, Resolved: resolved, Result: pol.Recipient(cl, rcpt, resolved, now)}
}

// Decide classifies the message, decides each recipient and the message, and computes the
// rewrite plan and the milter actions, from one rules snapshot. It does no I/O: the daemon's
// session and `edgerewrite test` both call it, so the CLI shows exactly what the daemon does.
// A nil snap rewrites nothing.
func Decide(in Input, snap *rewrite.Snapshot, pol *policy.Policy, opts DecideOptions, now time.Time) Outcome {
	cl := pol.Classify(in.Conn)
	out := Outcome{Class: cl, Observe: cl.Observe, Rcpts: make([]RcptOutcome, len(in.Rcpts))}

	// Recipients the message keeps: refused ones are gone (Postfix dropped them at RCPT),
	// except in observe mode where nothing is refused.
	var kept []Rcpt
	var firstRefused *RcptOutcome
	accepted := 0 // recipients the policy accepts, observe mode or not
	for i, r := range in.Rcpts {
		out.Rcpts[i] = DecideRecipient(cl, r.Addr, snap, pol, now)
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
	mres := pol.Message(cl, msg, now)
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

	ro := rewrite.PlanOptions{Recipients: true}
	if cl.Outbound {
		ro.Sender = mres.RewriteSender
		ro.OutboundToCc = opts.RewriteOutboundToCc && mres.RewriteSender
	} else {
		ro.InboundToCc = true
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
	out.Plan = rewrite.Compute(lookupOf(snap), ro, rewrite.Message{From: in.From, Rcpts: msg.Rcpts, Headers: in.Headers, Fields: fields})
	out.Actions = PlanActions(out.Plan, kept)
	return out
}

func rcptAddrs(rs []Rcpt) []string {
	addrs := make([]string, len(rs))
	for i, r := range rs {
		addrs[i] = r.Addr
	}
	return addrs
}

// noRules is the Lookup used when no snapshot is in service: nothing matches.
type noRules struct{}

func (noRules) Rewrite(addr string, _ rewrite.Direction) (string, *rewrite.Rule, bool) {
	return addr, nil, false
}

func lookupOf(snap *rewrite.Snapshot) rewrite.Lookup {
	if snap == nil {
		return noRules{}
	}
	return snap
}
