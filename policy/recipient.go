package policy

import (
	"strings"
	"time"
)

// RcptResult is the decision on one envelope recipient.
type RcptResult struct {
	// Verdict is Accept, Reject (relay, unknown recipient) or Tempfail (cutover defer).
	Verdict Verdict
	// Route, when not "", is the address to deliver to instead: a [[domain]] with
	// unresolved = "route" sends local@route_to (the local part's bytes kept).
	Route string
}

// Recipient decides on one envelope recipient of class cl at time now. resolved says whether a
// rewrite rule resolved the recipient (inbound direction). In order:
//
//  1. Relay protection, Internet mail only: a recipient outside the organisation's domains
//     ([organization] domains, tenants' sender_domains, [[domain]] names), or one whose local
//     part routes elsewhere ('@', '%' or '!'), gets 554 5.7.1. A recipient without a domain
//     (RCPT TO:<postmaster>) is Postfix's to handle and passes. Connector mail may go anywhere.
//  2. Cutover: the recipient's cutover in force (address before domain) with action "defer"
//     gets 451 4.7.1 with its text; "hold" is decided by Message.
//  3. Shared domain, Internet and hairpin mail alike: an unresolved recipient of a [[domain]]
//     gets 550 5.1.1 ("reject"), passes ("pass"), or is routed to local@route_to unless listed
//     in keep ("route").
func (p *Policy) Recipient(cl Class, rcpt string, resolved bool, now time.Time) RcptResult {
	a := envAddr(rcpt)
	d := domainOf(a)
	local := a[:max(strings.LastIndexByte(a, '@'), 0)]
	if !cl.Outbound && d.ok {
		if !p.isOrgDomain(d.norm) {
			return RcptResult{Verdict: relayDenied(rcpt, "relay-denied: "+replySafe(d.shown))}
		}
		if strings.ContainsAny(local, "@%!") {
			return RcptResult{Verdict: relayDenied(rcpt, "relay-denied: routing in local part")}
		}
	}
	if c := p.cutovers.find(rcpt, now); c != nil && !c.hold {
		return RcptResult{Verdict: Verdict{Action: Tempfail, Code: 451, Status: "4.7.1",
			Text: c.deferText(), Reason: "cutover-defer: " + c.match}}
	}
	sd := p.shared[d.norm]
	if !d.ok || resolved || sd == nil {
		return RcptResult{}
	}
	switch sd.mode {
	case unresolvedReject:
		return RcptResult{Verdict: Verdict{Action: Reject, Code: 550, Status: "5.1.1",
			Text:   quoteAddr(rcpt) + ": recipient address rejected: unknown in the shared domain " + sd.name,
			Reason: "unknown-recipient: " + sd.name}}
	case unresolvedRoute:
		if sd.keep.has(rcpt) {
			return RcptResult{}
		}
		return RcptResult{Route: local + "@" + sd.routeTo}
	}
	return RcptResult{}
}

// relayDenied is the 554 5.7.1 verdict of relay protection, worded like Postfix's own.
func relayDenied(rcpt, reason string) Verdict {
	return Verdict{Action: Reject, Code: 554, Status: "5.7.1",
		Text: quoteAddr(rcpt) + ": relay access denied", Reason: reason}
}
