package policy

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/edgerewrite/edgerewrite/rewrite"
)

// Message is what Message decides on, collected by the daemon by end of message.
type Message struct {
	// From is the envelope sender (MAIL FROM) without angle brackets; "" is the null sender.
	From string
	// Rcpts are the accepted envelope recipients.
	Rcpts []string
	// Fields are the message's address header fields as rewrite.ReadAddressFields read them
	// (the same slice the daemon gives rewrite.Compute, so what is judged is what is
	// rewritten). Tenant attribution judges From, Sender and Resent-From; other fields are
	// ignored.
	Fields []rewrite.AddressField
	// CrossTenantIDs holds the value of every X-MS-Exchange-CrossTenant-Id header field.
	CrossTenantIDs []string
}

// MessageResult is the message-level decision.
type MessageResult struct {
	// Verdict is Accept, Reject/Tempfail (tenant attribution failed) or Hold (cutover).
	Verdict Verdict
	// RewriteSender is true when outbound sender rewriting applies: the mail is outbound, passed
	// tenant attribution and its sender is in the pilot scope. Never true for Internet mail.
	RewriteSender bool
}

// Message decides on a whole message of class cl at time now: tenant attribution for outbound
// mail (envelope sender, the From, Sender and Resent-From fields, optional tenant ID check), then
// hold by cutover.
//
// Attribution refuses a From, Sender or Resent-From field that cannot be parsed (what a mail
// reader would show from it is unknown) and one that holds an address in an organisation domain
// the tenant does not own. A From address outside the organisation is refused unless the tenant
// has allow_foreign_from or the sender is null; a Sender or Resent-From address outside the
// organisation passes.
//
// The null sender (a bounce) passes the envelope check; its From addresses must not be in an
// organisation domain other than the tenant's, but may be foreign (Microsoft 365 NDRs come
// From: MAILER-DAEMON@<server>.prod.outlook.com or postmaster@<tenant>.onmicrosoft.com) or
// lack a domain. A message without a From field is checked on its envelope sender alone.
func (p *Policy) Message(cl Class, m Message, now time.Time) MessageResult {
	if cl.Outbound {
		t := p.tenants[cl.Tenant]
		if t == nil {
			// Only a Class from another Policy gets here (a reload changed the tenants while
			// a connection was open): refuse for a retry rather than trust it.
			return MessageResult{Verdict: policyFailure(true, "unknown-tenant: "+cl.Tenant,
				"tenant "+replySafe(cl.Tenant)+" is no longer configured")}
		}
		if v, failed := p.attribute(cl, t, m); failed {
			return MessageResult{Verdict: v}
		}
	}
	var res MessageResult
	for _, rc := range m.Rcpts {
		if c := p.cutovers.find(rc, now); c != nil && c.hold {
			res.Verdict = Verdict{Action: Hold, Text: c.holdReason(), Reason: "cutover-hold: " + c.match,
				Source: c.verdictSource()}
			break
		}
	}
	if cl.Outbound {
		res.RewriteSender = p.inPilot(m)
	}
	return res
}

// attribute checks that an outbound message is its tenant's; failed is true with the verdict.
func (p *Policy) attribute(cl Class, t *tenant, m Message) (Verdict, bool) {
	tempfail := false
	for _, cn := range p.connectors {
		if cn.name == cl.Connector {
			tempfail = cn.tempfail
		}
	}
	fail := func(reason, format string, args ...any) (Verdict, bool) {
		return policyFailure(tempfail, reason, fmt.Sprintf(format, args...)), true
	}
	null := envAddr(m.From) == ""
	if !null {
		d := domainOf(envAddr(m.From))
		if !d.ok {
			return fail("sender-domain: none", "sender address %s has no domain; tenant %s may send only from its own domains",
				quoteAddr(m.From), t.name)
		}
		if !p.ownedBy(d.norm, t) && !(t.forwarding && p.forwarded(d.norm)) {
			return fail("sender-domain: "+replySafe(d.shown), "sender domain %s is not allowed for tenant %s", replySafe(d.shown), t.name)
		}
	}
	for i := range m.Fields {
		f := &m.Fields[i]
		if !f.IsSender() {
			continue
		}
		name, reason := senderField(f.Name)
		if f.Err != nil {
			return fail(reason+"-unparsable", "%s header cannot be parsed as addresses; tenant %s may send only from its own domains",
				name, t.name)
		}
		for _, a := range f.Addrs {
			dm := domainOf(a)
			switch {
			case dm.ok && p.ownedBy(dm.norm, t):
				continue
			case dm.ok && p.isOrgDomain(dm.norm):
				// Another tenant's or an organisation domain not this tenant's: spoofing, bounce or not.
			case name != "From":
				continue // outside the organisation: forwarded or list mail
			case null || dm.ok && t.forwarding && p.forwarded(dm.norm):
				continue
			}
			if !dm.ok {
				return fail(reason+"-domain: none", "%s header address %s has no domain; tenant %s may send only from its own domains",
					name, quoteAddr(a), t.name)
			}
			return fail(reason+"-domain: "+replySafe(dm.shown), "%s header domain %s is not allowed for tenant %s", name, replySafe(dm.shown), t.name)
		}
	}
	if t.ids == nil {
		return Verdict{}, false
	}
	distinct := map[string]struct{}{}
	var first string
	for _, v := range m.CrossTenantIDs {
		id := normTenantID(v)
		if len(distinct) == 0 {
			first = id
		}
		distinct[id] = struct{}{}
	}
	switch {
	case len(distinct) == 0:
		return fail("tenant-id-missing", "message has no X-MS-Exchange-CrossTenant-Id header; tenant %s requires one", t.name)
	case len(distinct) > 1:
		return fail("tenant-id-multiple: "+strconv.Itoa(len(distinct)),
			"message carries %d different X-MS-Exchange-CrossTenant-Id values", len(distinct))
	}
	if _, ok := t.ids[first]; !ok {
		return fail("tenant-id-mismatch: "+replySafe(first),
			"X-MS-Exchange-CrossTenant-Id %s is not a tenant ID of tenant %s", replySafe(first), t.name)
	}
	return Verdict{}, false
}

// ownedBy reports whether the normalised domain d is one of tenant t's sender domains (the most
// specific sender_domains entry covering d is t's).
func (p *Policy) ownedBy(d string, t *tenant) bool {
	owner, ok := p.owners.lookup(d)
	return ok && owner == t
}

// inPilot reports whether the message's sender is in the pilot scope: the envelope sender, or,
// for the null sender, every From address (and at least one).
func (p *Policy) inPilot(m Message) bool {
	if p.pilot.all {
		return true
	}
	if envAddr(m.From) != "" {
		return p.pilot.has(m.From)
	}
	n := 0
	for i := range m.Fields {
		if f := &m.Fields[i]; f.Err == nil && strings.EqualFold(f.Name, "From") {
			for _, a := range f.Addrs {
				if !p.pilot.has(a) {
					return false
				}
				n++
			}
		}
	}
	return n > 0
}

// senderField returns the canonical name of a sender field (From, Sender, Resent-From) and the
// prefix of the reasons that name it ("from-domain: x", "from-unparsable").
func senderField(name string) (canonical, reason string) {
	switch {
	case strings.EqualFold(name, "From"):
		return "From", "from"
	case strings.EqualFold(name, "Sender"):
		return "Sender", "sender-header"
	}
	return "Resent-From", "resent-from"
}

// quoteAddr is an address for a reply text: <addr>, made safe.
func quoteAddr(a string) string { return "<" + replySafe(envAddr(a)) + ">" }
