package policy

import (
	"strconv"
	"strings"
)

// Action is what the MTA is told to do with a recipient or a message.
type Action uint8

// The actions. The zero Action is Accept.
const (
	// Accept lets the recipient or message through.
	Accept Action = iota
	// Reject refuses with a 5xx reply (milter SMFIR_REPLYCODE).
	Reject
	// Tempfail refuses with a 4xx reply; the client retries later.
	Tempfail
	// Hold accepts the message into Postfix's hold queue (milter SMFIR_QUARANTINE with Text as
	// the reason). Only Message returns it.
	Hold
)

// String returns "accept", "reject", "tempfail" or "hold".
func (a Action) String() string {
	switch a {
	case Accept:
		return "accept"
	case Reject:
		return "reject"
	case Tempfail:
		return "tempfail"
	case Hold:
		return "hold"
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// Verdict is one decision. The zero Verdict is Accept with no reason.
type Verdict struct {
	// Action is what to do.
	Action Action
	// Code is the SMTP reply code (550, 554, 451) for Reject and Tempfail, 0 otherwise.
	Code int
	// Status is the enhanced status code (RFC 3463), e.g. "5.7.1", for Reject and Tempfail.
	Status string
	// Text is the reply text for Reject and Tempfail (without code and status; printable
	// ASCII, values taken from the message made safe) and the hold reason for Hold.
	Text string
	// Reason is short, for logs and metrics: a token, then ": " and the value it is about, e.g.
	// "sender-domain: fabrikam.com". The tokens are listed in the package documentation.
	Reason string
	// Source is the cutover list file entry behind a cutover verdict, "file:line" (the file's
	// name in the rules directory); "" for any other verdict and for a [[cutover]] table.
	Source string
}

// Reply is the whole SMTP reply line for Reject and Tempfail, e.g.
// "550 5.7.1 sender domain fabrikam.com is not allowed for tenant tenant-a", as a milter sends
// it in SMFIR_REPLYCODE; "" for Accept and Hold. An admin-written text may hold '%', which a
// milter must double for Postfix (milter8.c drops a single '%').
func (v Verdict) Reply() string {
	if v.Action != Reject && v.Action != Tempfail {
		return ""
	}
	return strconv.Itoa(v.Code) + " " + v.Status + " " + v.Text
}

// String is the verdict for a log line: "accept", "hold (cutover-hold: fabrikam.com)",
// "reject 550 5.7.1 ... (sender-domain: fabrikam.com)".
func (v Verdict) String() string {
	var b strings.Builder
	b.WriteString(v.Action.String())
	if r := v.Reply(); r != "" {
		b.WriteString(" ")
		b.WriteString(r)
	}
	if v.Reason != "" {
		b.WriteString(" (")
		b.WriteString(v.Reason)
		b.WriteString(")")
	}
	return b.String()
}

// policyFailure builds a 550 5.7.1 or, with tempfail, a 451 4.7.1 verdict.
func policyFailure(tempfail bool, reason, text string) Verdict {
	if tempfail {
		return Verdict{Action: Tempfail, Code: 451, Status: "4.7.1", Text: text, Reason: reason}
	}
	return Verdict{Action: Reject, Code: 550, Status: "5.7.1", Text: text, Reason: reason}
}
