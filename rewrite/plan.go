package rewrite

import (
	"errors"
	"fmt"
	"strings"
)

// Lookup rewrites one address in one direction; *Snapshot is the Lookup the daemon uses. ok is
// false when no rule matched, and then out == addr.
type Lookup interface {
	Rewrite(addr string, d Direction) (out string, rule *Rule, ok bool)
}

// Header is one top-level header field of a message. Value is as the MTA sent it, leading space
// kept (SMFIP_HDR_LEADSPC).
type Header struct{ Name, Value string }

// Message is what Compute looks at: the envelope sender and recipients (without angle brackets,
// as go-milter passes them) and the top-level header fields in order.
type Message struct {
	From    string
	Rcpts   []string
	Headers []Header
	// Fields, when not nil, are ReadAddressFields(Headers), already read for policy: Compute
	// rewrites these and does not read the address fields of Headers again.
	Fields []AddressField
}

// PlanOptions say which parts of a message Compute rewrites; the caller decides them from the
// message's direction and the configuration.
//
// The contract named this type Options; the rule table's options took that name first.
type PlanOptions struct {
	// Sender rewrites outbound (internal -> external) the envelope sender and the sender-side
	// headers From, Sender, Reply-To, Resent-From, Resent-Sender, Return-Receipt-To and
	// Disposition-Notification-To (the fields Exchange's Address Rewriting Outbound Agent
	// changes).
	Sender bool
	// OutboundToCc also rewrites To and Cc outbound, so that reply-all goes to the shared
	// domain. It takes effect only together with Sender. Off is strict Exchange behaviour.
	OutboundToCc bool
	// Recipients rewrites the envelope recipients inbound (external -> internal); on an
	// outbound message that is the hairpin case.
	Recipients bool
	// InboundToCc rewrites To and Cc inbound. With OutboundToCc (and Sender) also set, an
	// address no outbound rule matches is tried inbound.
	InboundToCc bool
	// KeepSigned leaves an inbound To or Cc as it is when a DKIM signature of the message covers
	// it, and records the change it would have made in Plan.Kept (see dkim.go).
	KeepSigned bool
	// RcptFallback, when set, is asked for an envelope recipient no rule resolved (the policy's
	// routing domain); it returns the new address or ok=false.
	RcptFallback func(addr string) (string, bool)
	// SMTPUTF8 is set when the transaction is SMTPUTF8 (RFC 6531: the SMTPUTF8 parameter on
	// MAIL FROM). Without it a rewritten domain is written as an A-label, in the envelope and in
	// the header, and a rewrite whose new address needs a UTF-8 local part is not made (it goes
	// to Plan.NeedUTF8): the next hop may not take UTF-8 in a plain transaction (RFC 6530 §7.1).
	// With it the new address is written as the rule writes it, U-labels included.
	SMTPUTF8 bool
}

// fit returns addr as this transaction may carry it (see SMTPUTF8); ok is false when it cannot.
func (o *PlanOptions) fit(addr string) (string, bool) {
	if o.SMTPUTF8 || isASCII(addr) {
		return addr, true
	}
	l, d, found := SplitAddress(addr)
	if !found || !isASCII(l) {
		return addr, false
	}
	a, err := NormalizeDomain(d)
	if err != nil {
		return addr, false
	}
	return l + "@" + a, true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Change is one rewritten address, for the per-message log line "field:old->new".
type Change struct {
	// Field is "mail-from", "rcpt", or the header field name as written in the message.
	Field    string
	Old, New string
	// Rule is the rule that matched, nil for a RcptFallback answer.
	Rule *Rule
}

// RcptChange replaces one envelope recipient (SMFIR_DELRCPT, then SMFIR_ADDRCPT(_PAR)).
type RcptChange struct {
	// Index is the recipient's position in Message.Rcpts, from 0.
	Index    int
	Old, New string
	Rule     *Rule
	// Duplicate: the new address already is a recipient (an earlier rewritten one, or one left
	// unchanged anywhere in the list; compared case-insensitively), so Old is deleted and New
	// not added again.
	Duplicate bool
}

// HeaderChange replaces one header field value (SMFIR_CHGHEADER).
type HeaderChange struct {
	// Name is the field name as written in the message.
	Name string
	// Index is the 1-based occurrence among the message's fields of that name, compared
	// case-insensitively, as SMFIR_CHGHEADER counts.
	Index    int
	Old, New string
	// Addrs are the addresses changed in it, in order.
	Addrs []Change
}

// MaxHeaderField is the longest header field, name and value in bytes, that Compute writes
// back. The milter protocol carries a changed field in one SMFIR_CHGHEADER packet (command
// byte, 4-byte index, name and value each NUL-terminated), and milter implementations bound a
// packet at 1 MiB; a longer change would not be sent, and the message would fail on every
// retry. Such a field is left as it is instead, in Plan.Skipped with ErrFieldTooLong.
const MaxHeaderField = 1<<20 - 1 - 4 - 2

// ErrFieldTooLong is the error of a header field whose rewritten form would be longer than
// MaxHeaderField.
var ErrFieldTooLong = errors.New("rewritten header field too long for a milter packet; left as it is")

// HeaderSkip is a header field Compute would have rewritten but could not parse, or whose
// rewritten form would not fit a milter packet (ErrFieldTooLong); it stays as it is.
type HeaderSkip struct {
	Name  string
	Index int
	Err   error
}

// Plan is every change Compute decided for one message.
type Plan struct {
	Sender  *Change
	Rcpts   []RcptChange
	Headers []HeaderChange
	Skipped []HeaderSkip
	// NeedUTF8 are the rewrites a rule called for but Compute did not make: the new address
	// needs a UTF-8 local part and the transaction is not SMTPUTF8. The address stays as it
	// was; the caller logs and counts them.
	NeedUTF8 []Change
	// Kept are the inbound To and Cc changes not made because a signature covers the field
	// (PlanOptions.KeepSigned); they change nothing.
	Kept []HeaderChange
}

// Empty reports whether the plan changes nothing (skipped headers change nothing either).
func (p *Plan) Empty() bool {
	return p.Sender == nil && len(p.Rcpts) == 0 && len(p.Headers) == 0
}

// Changes lists every changed address in message order: envelope sender, recipients (duplicates
// included), then header fields.
func (p *Plan) Changes() []Change {
	n := len(p.Rcpts)
	if p.Sender != nil {
		n++
	}
	for _, h := range p.Headers {
		n += len(h.Addrs)
	}
	if n == 0 {
		return nil
	}
	out := make([]Change, 0, n)
	if p.Sender != nil {
		out = append(out, *p.Sender)
	}
	for _, r := range p.Rcpts {
		out = append(out, Change{Field: "rcpt", Old: r.Old, New: r.New, Rule: r.Rule})
	}
	for _, h := range p.Headers {
		out = append(out, h.Addrs...)
	}
	return out
}

// Compute decides what to rewrite in m with the rules behind l. Nothing else is touched: the
// null sender, Return-Path, Received, Message-ID, every other header field, and addresses no rule
// matches. A header field that cannot be parsed goes to Plan.Skipped.
func Compute(l Lookup, o PlanOptions, m Message) Plan {
	var p Plan
	if o.Sender {
		p.Sender = p.senderChange(l, &o, m.From)
	}
	if o.Recipients {
		p.Rcpts = p.rcptChanges(l, &o, m.Rcpts)
	}
	var signed signedFields
	if o.KeepSigned && o.InboundToCc {
		signed = signedFieldsOf(m.Headers)
	}
	if m.Fields != nil {
		for i := range m.Fields {
			f := &m.Fields[i]
			sc, err := f.scan, f.Err
			if !f.read {
				sc = listScanner{s: f.Value}
				err = sc.scan()
			}
			p.field(l, o, signed, fieldOf(f.Name), f.Name, f.Index, &sc, err)
		}
		return p
	}
	var seen [numFields]int
	for _, h := range m.Headers {
		k := fieldOf(h.Name)
		if k < 0 {
			continue
		}
		seen[k]++
		if out, in := o.directions(k); !out && !in {
			continue // not read at all: a field left alone is never skipped
		}
		sc := listScanner{s: h.Value}
		err := sc.scan()
		p.field(l, o, signed, k, h.Name, seen[k], &sc, err)
	}
	return p
}

// directions says in which directions Compute rewrites field k under o.
func (o *PlanOptions) directions(k int) (out, in bool) {
	if k == fieldTo || k == fieldCc {
		return o.Sender && o.OutboundToCc, o.InboundToCc
	}
	return o.Sender, false
}

// field plans the rewrite of one address field, scanned into sc (err from the scan); signed
// are the fields a signature covers (kept inbound, see PlanOptions.KeepSigned).
func (p *Plan) field(l Lookup, o PlanOptions, signed signedFields, k int, name string, index int, sc *listScanner, err error) {
	out, in := o.directions(k)
	if k < 0 || !out && !in {
		return
	}
	if err != nil {
		p.Skipped = append(p.Skipped, HeaderSkip{Name: name, Index: index, Err: err})
		return
	}
	var addrs []Change
	nv, err := sc.rewrite(func(a string) (string, bool) {
		n, r, ok := a, (*Rule)(nil), false
		if out {
			n, r, ok = l.Rewrite(a, Outbound)
		}
		if !ok && in {
			n, r, ok = l.Rewrite(a, Inbound)
		}
		if !ok {
			return a, false
		}
		if f, fits := o.fit(n); fits {
			n = f
		} else {
			p.NeedUTF8 = append(p.NeedUTF8, Change{Field: name, Old: a, New: n, Rule: r})
			return a, false
		}
		addrs = appendChange(addrs, name, a, n, r)
		return n, true
	})
	if err == nil && nv != sc.s && len(name)+len(nv) > MaxHeaderField {
		err = fmt.Errorf("%w: %d bytes rewritten, over %d", ErrFieldTooLong, len(name)+len(nv), MaxHeaderField)
	}
	switch {
	case err != nil:
		p.Skipped = append(p.Skipped, HeaderSkip{Name: name, Index: index, Err: err})
	case nv != sc.s:
		hc := HeaderChange{Name: name, Index: index, Old: sc.s, New: foldLongLines(name, sc.s, nv), Addrs: addrs}
		if in && !out && signed.covers(name) {
			p.Kept = append(p.Kept, hc)
			return
		}
		p.Headers = append(p.Headers, hc)
	}
}

func appendChange(cs []Change, field, old, n string, r *Rule) []Change {
	if n == old {
		return cs
	}
	return append(cs, Change{Field: field, Old: old, New: n, Rule: r})
}

// The header fields Compute rewrites (RFC 5322 §3.6.2, §3.6.3, §3.6.6; RFC 8098 §2.1 for
// Disposition-Notification-To; Return-Receipt-To is historic but Exchange rewrites it).
const (
	fieldFrom = iota
	fieldSender
	fieldReplyTo
	fieldResentFrom
	fieldResentSender
	fieldReturnReceiptTo
	fieldDispositionNotificationTo
	fieldTo
	fieldCc
	numFields
)

// fieldOf returns which rewritable field name is (case-insensitive), or -1. It does not allocate.
func fieldOf(name string) int {
	is := func(s string) bool { return len(name) == len(s) && strings.EqualFold(name, s) }
	switch len(name) {
	case 2:
		if is("To") {
			return fieldTo
		}
		if is("Cc") {
			return fieldCc
		}
	case 4:
		if is("From") {
			return fieldFrom
		}
	case 6:
		if is("Sender") {
			return fieldSender
		}
	case 8:
		if is("Reply-To") {
			return fieldReplyTo
		}
	case 11:
		if is("Resent-From") {
			return fieldResentFrom
		}
	case 13:
		if is("Resent-Sender") {
			return fieldResentSender
		}
	case 17:
		if is("Return-Receipt-To") {
			return fieldReturnReceiptTo
		}
	case 27:
		if is("Disposition-Notification-To") {
			return fieldDispositionNotificationTo
		}
	}
	return -1
}
