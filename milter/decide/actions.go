package decide

import (
	"fmt"
	"strings"

	"github.com/edgerewrite/edgerewrite/rewrite"
)

// ActionKind is one of the milter modification actions edgerewrite sends at end of message.
type ActionKind uint8

const (
	// ChangeFrom replaces the envelope sender (SMFIR_CHGFROM), without ESMTP arguments: Postfix
	// keeps the queue file's RET and ENVID, and SIZE or BODY must never be sent.
	ChangeFrom ActionKind = iota + 1
	// DeleteRcpt removes an envelope recipient (SMFIR_DELRCPT).
	DeleteRcpt
	// AddRcpt adds an envelope recipient with its DSN arguments (SMFIR_ADDRCPT_PAR).
	AddRcpt
	// ChangeHeader replaces the Index-th header field named Name (SMFIR_CHGHEADER).
	ChangeHeader
	// ReplaceBody replaces the body with Body (SMFIR_REPLBODY): calendar data rewritten.
	ReplaceBody
)

// Action is one milter modification action.
type Action struct {
	Kind ActionKind
	// Addr is the new sender (ChangeFrom) or the recipient (DeleteRcpt, AddRcpt), without
	// angle brackets.
	Addr string
	// Args are AddRcpt's ESMTP arguments, space-separated (RFC 3461 NOTIFY and ORCPT).
	Args string
	// Name, Index and Value describe ChangeHeader: the 1-based occurrence among fields of that
	// name, and the new value sent verbatim (leading space and folding included).
	Name  string
	Index int
	Value string
	// Body is ReplaceBody's new body, line ends as read.
	Body []byte
}

// String renders the action for logs and `edgerewrite test`, named after the milter spec.
func (a Action) String() string {
	switch a.Kind {
	case ChangeFrom:
		return fmt.Sprintf("SMFIR_CHGFROM <%s>", a.Addr)
	case DeleteRcpt:
		return fmt.Sprintf("SMFIR_DELRCPT <%s>", a.Addr)
	case AddRcpt:
		if a.Args == "" {
			return fmt.Sprintf("SMFIR_ADDRCPT <%s>", a.Addr)
		}
		return fmt.Sprintf("SMFIR_ADDRCPT_PAR <%s> %s", a.Addr, a.Args)
	case ChangeHeader:
		return fmt.Sprintf("SMFIR_CHGHEADER %s[%d]:%s", a.Name, a.Index, a.Value)
	case ReplaceBody:
		return fmt.Sprintf("SMFIR_REPLBODY (%d bytes)", len(a.Body))
	}
	return fmt.Sprintf("Action(%d)", a.Kind)
}

// PlanActions turns a rewrite plan into milter actions, in this order: the envelope sender
// (never the null sender), then per rewritten recipient a delete of the old address and an add
// of the new one carrying the recipient's DSN arguments (a Duplicate is only deleted, so no
// address is delivered twice), then each changed header. rcpts are the envelope recipients the
// plan was computed for (RcptChange.Index points into them).
func PlanActions(p rewrite.Plan, rcpts []Rcpt) []Action {
	var acts []Action
	if p.Sender != nil && p.Sender.Old != "" && p.Sender.New != "" && p.Sender.New != p.Sender.Old {
		acts = append(acts, Action{Kind: ChangeFrom, Addr: p.Sender.New})
	}
	for _, rc := range p.Rcpts {
		acts = append(acts, Action{Kind: DeleteRcpt, Addr: rc.Old})
		if rc.Duplicate {
			continue
		}
		var args []string
		if rc.Index >= 0 && rc.Index < len(rcpts) {
			args = rcpts[rc.Index].Args
		}
		acts = append(acts, Action{Kind: AddRcpt, Addr: rc.New, Args: dsnArgs(args, rc.Old)})
	}
	for _, hc := range p.Headers {
		acts = append(acts, Action{Kind: ChangeHeader, Name: hc.Name, Index: hc.Index, Value: hc.New})
	}
	return acts
}

// dsnArgs are the ESMTP arguments a rewritten recipient is added with: its NOTIFY and ORCPT as
// the client sent them (RFC 3461 §4.1, §4.2), and, when the client sent no ORCPT,
// ORCPT=rfc822;<original address> so the next hop and any DSN name the address the sender used.
// Postfix accepts nothing else in SMFIR_ADDRCPT_PAR.
func dsnArgs(args []string, original string) string {
	var keep []string
	orcpt := false
	for _, a := range args {
		k, _, _ := strings.Cut(a, "=")
		switch {
		case strings.EqualFold(k, "NOTIFY"):
			keep = append(keep, a)
		case strings.EqualFold(k, "ORCPT"):
			keep = append(keep, a)
			orcpt = true
		}
	}
	if !orcpt && original != "" {
		keep = append(keep, "ORCPT=rfc822;"+xtext(original))
	}
	return strings.Join(keep, " ")
}

// xtext encodes s as RFC 3461 §4 xtext: '+', '=' and bytes outside 33-126 become "+XX"
// (upper-case hex).
func xtext(s string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 33 || c > 126 || c == '+' || c == '=' {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 33 || c > 126 || c == '+' || c == '=' {
			b = append(b, '+', hex[c>>4], hex[c&0xf])
			continue
		}
		b = append(b, c)
	}
	return string(b)
}
