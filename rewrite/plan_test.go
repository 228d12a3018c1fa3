package rewrite

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// hdrs builds headers from "Name: value" lines; the value keeps the space after the colon.
func hdrs(lines ...string) []Header {
	hs := make([]Header, len(lines))
	for i, l := range lines {
		name, value, _ := strings.Cut(l, ":")
		hs[i] = Header{Name: name, Value: value}
	}
	return hs
}

func TestCompute(t *testing.T) {
	l := newFakeLookup()
	ta, tb, ct := l.rules["@tenanta.contoso.com"], l.rules["@tenantb.contoso.com"], l.rules["@contoso.com"]
	jane := l.rules["jane@contoso.com"]
	outbound := PlanOptions{Sender: true, OutboundToCc: true}
	inbound := PlanOptions{Recipients: true, InboundToCc: true}
	hairpin := PlanOptions{Sender: true, OutboundToCc: true, Recipients: true}
	chg := func(field, old, n string, r *Rule) Change { return Change{Field: field, Old: old, New: n, Rule: r} }

	for _, c := range []struct {
		name string
		o    PlanOptions
		m    Message
		want Plan
	}{
		{
			name: "outbound: sender side and To/Cc; never Return-Path, Received, Message-ID, Bcc, Resent-To",
			o:    outbound,
			m: Message{From: "john@tenanta.contoso.com", Rcpts: []string{"ed@fabrikam.com"}, Headers: hdrs(
				"Return-Path: <john@tenanta.contoso.com>",
				"Received: from tenanta.contoso.com by gw (envelope-from <john@tenanta.contoso.com>)",
				"Message-ID: <1234@tenanta.contoso.com>",
				`From: "Smith, John" <john@tenanta.contoso.com>`,
				"Sender: bob@tenantb.contoso.com",
				"Reply-To: John <john@tenanta.contoso.com> (replies)",
				"To: ed@fabrikam.com, Jane <jane@tenantb.contoso.com>",
				"Cc: team@tenanta.contoso.com",
				"Bcc: secret@tenanta.contoso.com",
				"Resent-From: r@tenanta.contoso.com",
				"Resent-Sender: s@tenanta.contoso.com",
				"Resent-To: rt@tenanta.contoso.com",
				"Return-Receipt-To: rr@tenanta.contoso.com",
				"Disposition-Notification-To: dn@tenanta.contoso.com",
				"X-Original-From: x@tenanta.contoso.com",
				"Subject: mail from john@tenanta.contoso.com",
			)},
			want: Plan{
				Sender: &Change{Field: "mail-from", Old: "john@tenanta.contoso.com", New: "john@contoso.com", Rule: ta},
				Headers: []HeaderChange{
					{Name: "From", Index: 1, Old: ` "Smith, John" <john@tenanta.contoso.com>`, New: ` "Smith, John" <john@contoso.com>`,
						Addrs: []Change{chg("From", "john@tenanta.contoso.com", "john@contoso.com", ta)}},
					{Name: "Sender", Index: 1, Old: " bob@tenantb.contoso.com", New: " bob@contoso.com",
						Addrs: []Change{chg("Sender", "bob@tenantb.contoso.com", "bob@contoso.com", tb)}},
					{Name: "Reply-To", Index: 1, Old: " John <john@tenanta.contoso.com> (replies)", New: " John <john@contoso.com> (replies)",
						Addrs: []Change{chg("Reply-To", "john@tenanta.contoso.com", "john@contoso.com", ta)}},
					{Name: "To", Index: 1, Old: " ed@fabrikam.com, Jane <jane@tenantb.contoso.com>", New: " ed@fabrikam.com, Jane <jane@contoso.com>",
						Addrs: []Change{chg("To", "jane@tenantb.contoso.com", "jane@contoso.com", tb)}},
					{Name: "Cc", Index: 1, Old: " team@tenanta.contoso.com", New: " team@contoso.com",
						Addrs: []Change{chg("Cc", "team@tenanta.contoso.com", "team@contoso.com", ta)}},
					{Name: "Resent-From", Index: 1, Old: " r@tenanta.contoso.com", New: " r@contoso.com",
						Addrs: []Change{chg("Resent-From", "r@tenanta.contoso.com", "r@contoso.com", ta)}},
					{Name: "Resent-Sender", Index: 1, Old: " s@tenanta.contoso.com", New: " s@contoso.com",
						Addrs: []Change{chg("Resent-Sender", "s@tenanta.contoso.com", "s@contoso.com", ta)}},
					{Name: "Return-Receipt-To", Index: 1, Old: " rr@tenanta.contoso.com", New: " rr@contoso.com",
						Addrs: []Change{chg("Return-Receipt-To", "rr@tenanta.contoso.com", "rr@contoso.com", ta)}},
					{Name: "Disposition-Notification-To", Index: 1, Old: " dn@tenanta.contoso.com", New: " dn@contoso.com",
						Addrs: []Change{chg("Disposition-Notification-To", "dn@tenanta.contoso.com", "dn@contoso.com", ta)}},
				},
			},
		},
		{
			name: "outbound with OutboundToCc off (strict Exchange): To and Cc stay",
			o:    PlanOptions{Sender: true},
			m: Message{From: "john@tenanta.contoso.com", Headers: hdrs(
				"From: john@tenanta.contoso.com",
				"To: jane@tenantb.contoso.com",
				"Cc: team@tenanta.contoso.com",
			)},
			want: Plan{
				Sender: &Change{Field: "mail-from", Old: "john@tenanta.contoso.com", New: "john@contoso.com", Rule: ta},
				Headers: []HeaderChange{{Name: "From", Index: 1, Old: " john@tenanta.contoso.com", New: " john@contoso.com",
					Addrs: []Change{chg("From", "john@tenanta.contoso.com", "john@contoso.com", ta)}}},
			},
		},
		{
			name: "OutboundToCc alone does nothing without Sender (pilot scope excluded the sender)",
			o:    PlanOptions{OutboundToCc: true},
			m:    Message{From: "john@tenanta.contoso.com", Headers: hdrs("From: john@tenanta.contoso.com", "To: jane@tenantb.contoso.com")},
			want: Plan{},
		},
		{
			name: "inbound: recipients and To/Cc external -> internal; From and sender stay",
			o:    inbound,
			m: Message{From: "ed@contoso.com", Rcpts: []string{"jane@contoso.com", "John.Smith@Contoso.com", "ed@fabrikam.com"}, Headers: hdrs(
				"From: ed@contoso.com",
				"To: \"Doe, Jane\" <jane@contoso.com>,\r\n \"Smith, John\" <John.Smith@Contoso.com>",
				"Cc: ed@fabrikam.com",
				"Reply-To: ed@contoso.com",
			)},
			want: Plan{
				Rcpts: []RcptChange{
					{Index: 0, Old: "jane@contoso.com", New: "jane@tenantb.contoso.com", Rule: jane},
					{Index: 1, Old: "John.Smith@Contoso.com", New: "John.Smith@tenanta.contoso.com", Rule: ct},
				},
				Headers: []HeaderChange{{Name: "To", Index: 1,
					Old: " \"Doe, Jane\" <jane@contoso.com>,\r\n \"Smith, John\" <John.Smith@Contoso.com>",
					New: " \"Doe, Jane\" <jane@tenantb.contoso.com>,\r\n \"Smith, John\" <John.Smith@tenanta.contoso.com>",
					Addrs: []Change{
						chg("To", "jane@contoso.com", "jane@tenantb.contoso.com", jane),
						chg("To", "John.Smith@Contoso.com", "John.Smith@tenanta.contoso.com", ct),
					}}},
			},
		},
		{
			name: "hairpin: sender outbound, shared-domain recipient inbound, in one pass",
			o:    hairpin,
			m: Message{From: "bob@tenantb.contoso.com", Rcpts: []string{"john@contoso.com"}, Headers: hdrs(
				"From: Bob <bob@tenantb.contoso.com>",
				"To: John <john@contoso.com>",
			)},
			want: Plan{
				Sender: &Change{Field: "mail-from", Old: "bob@tenantb.contoso.com", New: "bob@contoso.com", Rule: tb},
				Rcpts:  []RcptChange{{Index: 0, Old: "john@contoso.com", New: "john@tenanta.contoso.com", Rule: ct}},
				Headers: []HeaderChange{{Name: "From", Index: 1, Old: " Bob <bob@tenantb.contoso.com>", New: " Bob <bob@contoso.com>",
					Addrs: []Change{chg("From", "bob@tenantb.contoso.com", "bob@contoso.com", tb)}}},
			},
		},
		{
			name: "OutboundToCc and InboundToCc: an address no outbound rule matches is tried inbound",
			o:    PlanOptions{Sender: true, OutboundToCc: true, InboundToCc: true},
			m:    Message{Headers: hdrs("To: a@tenanta.contoso.com, b@contoso.com")},
			want: Plan{Headers: []HeaderChange{{Name: "To", Index: 1, Old: " a@tenanta.contoso.com, b@contoso.com",
				New: " a@contoso.com, b@tenanta.contoso.com", Addrs: []Change{
					chg("To", "a@tenanta.contoso.com", "a@contoso.com", ta),
					chg("To", "b@contoso.com", "b@tenanta.contoso.com", ct),
				}}}},
		},
		{
			name: "null sender is never rewritten; its headers still are",
			o:    outbound,
			m:    Message{From: "", Headers: hdrs("From: MAILER-DAEMON <postmaster@tenanta.contoso.com>")},
			want: Plan{Headers: []HeaderChange{{Name: "From", Index: 1, Old: " MAILER-DAEMON <postmaster@tenanta.contoso.com>",
				New:   " MAILER-DAEMON <postmaster@contoso.com>",
				Addrs: []Change{chg("From", "postmaster@tenanta.contoso.com", "postmaster@contoso.com", ta)}}}},
		},
		{
			name: "null sender written <>",
			o:    outbound,
			m:    Message{From: "<>"},
			want: Plan{},
		},
		{
			name: "sender in angle brackets is looked up without them",
			o:    outbound,
			m:    Message{From: "<john@tenanta.contoso.com>"},
			want: Plan{Sender: &Change{Field: "mail-from", Old: "<john@tenanta.contoso.com>", New: "john@contoso.com", Rule: ta}},
		},
		{
			name: "a rule that gives back the same address changes nothing",
			o:    hairpin,
			m:    Message{From: "same@tenanta.contoso.com", Headers: hdrs("From: same@tenanta.contoso.com")},
			want: Plan{},
		},
		{
			name: "Recipients off: envelope recipients stay",
			o:    outbound,
			m:    Message{Rcpts: []string{"jane@contoso.com"}},
			want: Plan{},
		},
		{
			name: "duplicates: later rewritten one, and a rewritten one equal to an unchanged one",
			o:    inbound,
			m: Message{Rcpts: []string{
				"x@tenanta.contoso.com", // 0 unchanged
				"jane@contoso.com",      // 1 -> jane@tenantb
				"Jane@Contoso.COM",      // 2 -> jane@tenantb again: duplicate of 1
				"a@contoso.com",         // 3 -> a@tenanta; equals unchanged 5: duplicate
				"X@contoso.com",         // 4 -> X@tenanta; equals unchanged 0: duplicate
				"A@TENANTA.contoso.com", // 5 unchanged
				"b@contoso.com",         // 6 -> b@tenanta
			}},
			want: Plan{Rcpts: []RcptChange{
				{Index: 1, Old: "jane@contoso.com", New: "jane@tenantb.contoso.com", Rule: jane},
				{Index: 2, Old: "Jane@Contoso.COM", New: "jane@tenantb.contoso.com", Rule: jane, Duplicate: true},
				{Index: 3, Old: "a@contoso.com", New: "a@tenanta.contoso.com", Rule: ct, Duplicate: true},
				{Index: 4, Old: "X@contoso.com", New: "X@tenanta.contoso.com", Rule: ct, Duplicate: true},
				{Index: 6, Old: "b@contoso.com", New: "b@tenanta.contoso.com", Rule: ct},
			}},
		},
		{
			name: "fallback is asked only for recipients no rule resolved",
			o: PlanOptions{Recipients: true, RcptFallback: func(a string) (string, bool) {
				if a == "jane@contoso.com" {
					panic("fallback asked for a resolved recipient")
				}
				if local, ok := strings.CutSuffix(a, "@fabrikam.com"); ok {
					return local + "@route.contoso.com", true
				}
				return "", false
			}},
			m: Message{Rcpts: []string{"jane@contoso.com", "ed@fabrikam.com", "ed@example.org"}},
			want: Plan{Rcpts: []RcptChange{
				{Index: 0, Old: "jane@contoso.com", New: "jane@tenantb.contoso.com", Rule: jane},
				{Index: 1, Old: "ed@fabrikam.com", New: "ed@route.contoso.com"},
			}},
		},
		{
			name: "index counts every field of that name, case-insensitively, in message order",
			o:    PlanOptions{Sender: true, OutboundToCc: true},
			m: Message{Headers: hdrs(
				"to: ed@fabrikam.com",
				"Subject: x",
				"TO: a@tenanta.contoso.com",
				"cc: c@tenanta.contoso.com",
				"To: b@tenantb.contoso.com",
				"FROM: f@tenanta.contoso.com",
				"from: g@tenanta.contoso.com",
			)},
			want: Plan{Headers: []HeaderChange{
				{Name: "TO", Index: 2, Old: " a@tenanta.contoso.com", New: " a@contoso.com",
					Addrs: []Change{chg("TO", "a@tenanta.contoso.com", "a@contoso.com", ta)}},
				{Name: "cc", Index: 1, Old: " c@tenanta.contoso.com", New: " c@contoso.com",
					Addrs: []Change{chg("cc", "c@tenanta.contoso.com", "c@contoso.com", ta)}},
				{Name: "To", Index: 3, Old: " b@tenantb.contoso.com", New: " b@contoso.com",
					Addrs: []Change{chg("To", "b@tenantb.contoso.com", "b@contoso.com", tb)}},
				{Name: "FROM", Index: 1, Old: " f@tenanta.contoso.com", New: " f@contoso.com",
					Addrs: []Change{chg("FROM", "f@tenanta.contoso.com", "f@contoso.com", ta)}},
				{Name: "from", Index: 2, Old: " g@tenanta.contoso.com", New: " g@contoso.com",
					Addrs: []Change{chg("from", "g@tenanta.contoso.com", "g@contoso.com", ta)}},
			}},
		},
		{
			name: "inbound with KeepSigned: a To covered by a DKIM signature is kept, the envelope and an unsigned Cc are rewritten",
			o:    PlanOptions{Recipients: true, InboundToCc: true, KeepSigned: true},
			m: Message{From: "ed@fabrikam.com", Rcpts: []string{"john@contoso.com"}, Headers: hdrs(
				"DKIM-Signature: v=1; a=rsa-sha256; d=fabrikam.com; s=s1;\n h=From : to:Subject; bh=x; b=y",
				"To: john@contoso.com",
				"Cc: jane@contoso.com",
			)},
			want: Plan{
				Rcpts: []RcptChange{{Index: 0, Old: "john@contoso.com", New: "john@tenanta.contoso.com", Rule: ct}},
				Headers: []HeaderChange{{Name: "Cc", Index: 1, Old: " jane@contoso.com", New: " jane@tenantb.contoso.com",
					Addrs: []Change{chg("Cc", "jane@contoso.com", "jane@tenantb.contoso.com", jane)}}},
				Kept: []HeaderChange{{Name: "To", Index: 1, Old: " john@contoso.com", New: " john@tenanta.contoso.com",
					Addrs: []Change{chg("To", "john@contoso.com", "john@tenanta.contoso.com", ct)}}},
			},
		},
		{
			name: "inbound with KeepSigned, a signature that does not cover To: To rewritten",
			o:    PlanOptions{InboundToCc: true, KeepSigned: true},
			m:    Message{From: "ed@fabrikam.com", Headers: hdrs("DKIM-Signature: v=1; h=from:subject; b=x", "To: john@contoso.com")},
			want: Plan{Headers: []HeaderChange{{Name: "To", Index: 1, Old: " john@contoso.com", New: " john@tenanta.contoso.com",
				Addrs: []Change{chg("To", "john@contoso.com", "john@tenanta.contoso.com", ct)}}}},
		},
		{
			name: "inbound with KeepSigned, a signature whose h= cannot be read: To kept",
			o:    PlanOptions{InboundToCc: true, KeepSigned: true},
			m:    Message{From: "ed@fabrikam.com", Headers: hdrs("DKIM-Signature: v=1; h=to; h=cc", "To: john@contoso.com")},
			want: Plan{Kept: []HeaderChange{{Name: "To", Index: 1, Old: " john@contoso.com", New: " john@tenanta.contoso.com",
				Addrs: []Change{chg("To", "john@contoso.com", "john@tenanta.contoso.com", ct)}}}},
		},
		{
			name: "outbound To/Cc ignore KeepSigned: the signer runs after edgerewrite",
			o:    PlanOptions{Sender: true, OutboundToCc: true, KeepSigned: true},
			m: Message{From: "john@tenanta.contoso.com", Headers: hdrs(
				"DKIM-Signature: v=1; h=from:to; b=x",
				"To: jane@tenantb.contoso.com",
			)},
			want: Plan{
				Sender: &Change{Field: "mail-from", Old: "john@tenanta.contoso.com", New: "john@contoso.com", Rule: ta},
				Headers: []HeaderChange{{Name: "To", Index: 1, Old: " jane@tenantb.contoso.com", New: " jane@contoso.com",
					Addrs: []Change{chg("To", "jane@tenantb.contoso.com", "jane@contoso.com", tb)}}},
			},
		},
		{
			name: "a rewritten line over 998 octets is folded at an address boundary",
			o:    inbound,
			m:    Message{Headers: hdrs("To: " + strings.Repeat("a", 480) + "@contoso.com, " + strings.Repeat("b", 480) + "@contoso.com")},
			want: Plan{Headers: []HeaderChange{{Name: "To", Index: 1,
				Old: " " + strings.Repeat("a", 480) + "@contoso.com, " + strings.Repeat("b", 480) + "@contoso.com",
				New: " " + strings.Repeat("a", 480) + "@tenanta.contoso.com,\n " + strings.Repeat("b", 480) + "@tenanta.contoso.com",
				Addrs: []Change{
					chg("To", strings.Repeat("a", 480)+"@contoso.com", strings.Repeat("a", 480)+"@tenanta.contoso.com", ct),
					chg("To", strings.Repeat("b", 480)+"@contoso.com", strings.Repeat("b", 480)+"@tenanta.contoso.com", ct),
				}}}},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Compute(l, c.o, c.m)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Compute:\n got  %s\n want %s", dumpPlan(got), dumpPlan(c.want))
			}
			read := c.m
			read.Fields = ReadAddressFields(c.m.Headers)
			if again := Compute(l, c.o, read); !reflect.DeepEqual(again, got) {
				t.Errorf("Compute with the fields read before:\n got  %s\n want %s", dumpPlan(again), dumpPlan(got))
			}
			if got.Empty() != (c.want.Sender == nil && c.want.Rcpts == nil && c.want.Headers == nil) {
				t.Errorf("Empty() = %v for %s", got.Empty(), dumpPlan(got))
			}
		})
	}
}

func dumpPlan(p Plan) string {
	var b strings.Builder
	if p.Sender != nil {
		b.WriteString("sender " + strconv.Quote(p.Sender.Old+"->"+p.Sender.New) + " " + p.Sender.Rule.String() + "\n")
	}
	for _, r := range p.Rcpts {
		b.WriteString("rcpt " + strconv.Itoa(r.Index) + " " + strconv.Quote(r.Old+"->"+r.New) + " dup=" + strconv.FormatBool(r.Duplicate) + " " + r.Rule.String() + "\n")
	}
	for _, h := range p.Headers {
		b.WriteString("header " + h.Name + "#" + strconv.Itoa(h.Index) + " " + strconv.Quote(h.Old) + " -> " + strconv.Quote(h.New) + "\n")
		for _, a := range h.Addrs {
			b.WriteString("  " + a.Field + " " + strconv.Quote(a.Old+"->"+a.New) + " " + a.Rule.String() + "\n")
		}
	}
	for _, h := range p.Kept {
		b.WriteString("kept " + h.Name + "#" + strconv.Itoa(h.Index) + " " + strconv.Quote(h.Old) + " -> " + strconv.Quote(h.New) + "\n")
	}
	for _, s := range p.Skipped {
		b.WriteString("skipped " + s.Name + "#" + strconv.Itoa(s.Index) + " " + s.Err.Error() + "\n")
	}
	return b.String()
}

func TestComputeSkipsUnparsableHeaders(t *testing.T) {
	l := newFakeLookup()
	m := Message{Headers: hdrs(
		"From: Smith, John <john@tenanta.contoso.com>",
		"Reply-To: \"John <john@tenanta.contoso.com>",
		"To: Smith, John <john@tenanta.contoso.com>", // not rewritten (OutboundToCc off): not skipped either
		"Sender: s@tenanta.contoso.com",
	)}
	p := Compute(l, PlanOptions{Sender: true}, m)
	if len(p.Skipped) != 2 || p.Skipped[0].Name != "From" || p.Skipped[0].Index != 1 || p.Skipped[1].Name != "Reply-To" {
		t.Fatalf("Skipped = %+v", p.Skipped)
	}
	for _, s := range p.Skipped {
		if !errors.Is(s.Err, ErrUnparsable) {
			t.Errorf("%s: %v does not wrap ErrUnparsable", s.Name, s.Err)
		}
	}
	if !strings.Contains(p.Skipped[0].Err.Error(), `"Smith" is not an address`) {
		t.Errorf("From error: %v", p.Skipped[0].Err)
	}
	if len(p.Headers) != 1 || p.Headers[0].Name != "Sender" || p.Headers[0].New != " s@contoso.com" {
		t.Errorf("Headers = %+v", p.Headers)
	}
	if p.Empty() {
		t.Error("Empty() with a Sender change")
	}
	only := Compute(l, PlanOptions{Sender: true}, Message{Headers: m.Headers[:2]})
	if !only.Empty() || len(only.Skipped) != 2 {
		t.Errorf("a plan with only skipped headers: Empty() = %v, Skipped = %d", only.Empty(), len(only.Skipped))
	}
}

func TestComputeBadReplacementSkipsHeader(t *testing.T) {
	p := Compute(newFakeLookup(), PlanOptions{InboundToCc: true}, Message{Headers: hdrs("To: jane@contoso.com, bad@contoso.com")})
	if len(p.Headers) != 0 || len(p.Skipped) != 1 || !errors.Is(p.Skipped[0].Err, ErrBadReplacement) {
		t.Fatalf("plan: %s", dumpPlan(p))
	}
}

// TestComputeFieldTooLongForMilter: a header whose rewritten form would not fit a milter
// packet stays as it is and is reported; one byte shorter, it is rewritten.
func TestComputeFieldTooLongForMilter(t *testing.T) {
	const addr, grown = "jane@contoso.com", "jane@tenantb.contoso.com"
	for _, c := range []struct {
		size    int // of name and rewritten value
		skipped bool
	}{{MaxHeaderField, false}, {MaxHeaderField + 1, true}, {100, false}} {
		pad := strings.Repeat("x", c.size-len("To")-len(" () ")-len(grown))
		m := Message{Rcpts: []string{addr}, Headers: hdrs("To: (" + pad + ") " + addr)}
		p := Compute(newFakeLookup(), PlanOptions{Recipients: true, InboundToCc: true}, m)
		if len(p.Rcpts) != 1 {
			t.Errorf("size %d: the envelope recipient must be rewritten whatever the header: %s", c.size, dumpPlan(p))
		}
		switch {
		case c.skipped && (len(p.Headers) != 0 || len(p.Skipped) != 1 || !errors.Is(p.Skipped[0].Err, ErrFieldTooLong)):
			t.Errorf("size %d: want To skipped as too long, got %d changed, skipped %+v", c.size, len(p.Headers), p.Skipped)
		case !c.skipped && (len(p.Headers) != 1 || len(p.Skipped) != 0 || len("To")+len(p.Headers[0].New) != c.size):
			t.Errorf("size %d: want To rewritten, got %d changed, skipped %+v", c.size, len(p.Headers), p.Skipped)
		}
	}
}

func TestPlanChanges(t *testing.T) {
	l := newFakeLookup()
	p := Compute(l, PlanOptions{Sender: true, OutboundToCc: true, Recipients: true}, Message{
		From:  "john@tenanta.contoso.com",
		Rcpts: []string{"jane@contoso.com", "JANE@contoso.com"},
		Headers: hdrs(
			"To: jane@contoso.com, bob@tenantb.contoso.com",
			"From: John <john@tenanta.contoso.com>",
		),
	})
	var got []string
	for _, c := range p.Changes() {
		got = append(got, c.Field+":"+c.Old+"->"+c.New)
	}
	want := []string{
		"mail-from:john@tenanta.contoso.com->john@contoso.com",
		"rcpt:jane@contoso.com->jane@tenantb.contoso.com",
		"rcpt:JANE@contoso.com->jane@tenantb.contoso.com",
		"To:bob@tenantb.contoso.com->bob@contoso.com",
		"From:john@tenanta.contoso.com->john@contoso.com",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Changes():\n got  %q\n want %q", got, want)
	}
	if (&Plan{}).Changes() != nil {
		t.Error("Changes() of an empty plan is not nil")
	}
}

// TestComputeDuplicatesLongList takes the map path of the duplicate check.
func TestComputeDuplicatesLongList(t *testing.T) {
	var rcpts []string
	for i := range 100 {
		rcpts = append(rcpts, "u"+strconv.Itoa(i)+"@contoso.com")
	}
	rcpts = append(rcpts, "U7@CONTOSO.com", "u8@tenanta.contoso.com", "jane@contoso.com", "Jane@contoso.com")
	p := Compute(newFakeLookup(), PlanOptions{Recipients: true}, Message{Rcpts: rcpts})
	if len(p.Rcpts) != 103 {
		t.Fatalf("%d recipient changes, want 103", len(p.Rcpts))
	}
	var dups []int
	for _, r := range p.Rcpts {
		if r.Duplicate {
			dups = append(dups, r.Index)
		}
	}
	// u8@contoso.com (8) equals the unchanged u8@tenanta.contoso.com; U7@CONTOSO.com (100) the
	// earlier u7; Jane (103) the earlier jane.
	if want := []int{8, 100, 103}; !reflect.DeepEqual(dups, want) {
		t.Errorf("duplicates at %v, want %v", dups, want)
	}
}

func TestComputeNoAllocWithoutRewrites(t *testing.T) {
	l := newFakeLookup()
	m := typicalMessage()
	m.From = "ed@fabrikam.com"
	m.Rcpts = []string{"x@example.org"}
	for i := range m.Headers {
		m.Headers[i].Value = strings.ReplaceAll(m.Headers[i].Value, "tenant", "other")
	}
	o := PlanOptions{Sender: true, OutboundToCc: true, Recipients: true}
	if n := testing.AllocsPerRun(100, func() {
		if p := Compute(l, o, m); !p.Empty() {
			t.Fatalf("plan not empty: %s", dumpPlan(p))
		}
	}); n != 0 {
		t.Errorf("Compute with nothing to rewrite: %v allocations, want 0", n)
	}
}

// TestComputeWithSnapshot runs Compute over the real rule table.
func TestComputeWithSnapshot(t *testing.T) {
	tab := NewTable(Options{RecipientDelimiter: "+"})
	if _, err := tab.Load("testdata/header/rules"); err != nil {
		t.Fatal(err)
	}
	m := Message{
		From:  "John+tag@TENANTA.contoso.com",
		Rcpts: []string{"jane@contoso.com", "bob@contoso.com", "Jane@Contoso.com", "ed@example.org"},
		Headers: hdrs(
			"Received: from tenanta.contoso.com",
			`From: "Smith, John" <John+tag@TENANTA.contoso.com>`,
			"To: Jane <jane@contoso.com>, a@eu.fabrikam.example,\r\n x@legal.fabrikam.example",
			"Cc: =?utf-8?q?B=C3=BCcher?= <info@xn--bcher-kva.example>, bob@tenantb.contoso.com",
		),
	}
	p := Compute(tab.Snapshot(), PlanOptions{Sender: true, OutboundToCc: true, Recipients: true}, m)
	var got []string
	for _, c := range p.Changes() {
		got = append(got, c.Field+":"+c.Old+"->"+c.New+" "+c.Rule.Pos.String())
	}
	const f = "testdata/header/rules/plan.rules"
	want := []string{
		"mail-from:John+tag@TENANTA.contoso.com->John+tag@contoso.com " + f + ":2",
		"rcpt:jane@contoso.com->jane@tenantb.contoso.com " + f + ":4",
		"rcpt:bob@contoso.com->bob@tenanta.contoso.com " + f + ":2",
		"rcpt:Jane@Contoso.com->jane@tenantb.contoso.com " + f + ":4",
		"From:John+tag@TENANTA.contoso.com->John+tag@contoso.com " + f + ":2",
		"To:a@eu.fabrikam.example->a@fabrikam.example " + f + ":5",
		"Cc:info@xn--bcher-kva.example->info@books.example " + f + ":6",
		"Cc:bob@tenantb.contoso.com->bob@contoso.com " + f + ":3",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Changes():\n got  %q\n want %q", got, want)
	}
	if len(p.Rcpts) != 3 || !p.Rcpts[2].Duplicate || p.Rcpts[0].Duplicate || p.Rcpts[1].Duplicate {
		t.Errorf("Rcpts = %+v, want the second jane a duplicate", p.Rcpts)
	}
	if len(p.Headers) != 3 || p.Headers[1].New != " Jane <jane@contoso.com>, a@fabrikam.example,\r\n x@legal.fabrikam.example" {
		t.Errorf("Headers = %+v", p.Headers)
	}
}
