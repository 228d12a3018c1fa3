package rewrite

import (
	"reflect"
	"testing"
)

// TestComputeSMTPUTF8: a rewritten domain is an A-label unless the transaction is SMTPUTF8, and
// a rewrite that needs a UTF-8 local part is not made in a plain transaction but reported.
func TestComputeSMTPUTF8(t *testing.T) {
	tb, _ := tableOf(t, map[string]string{"idn.rules": `x@münchen.tenanta.contoso.com x@contoso.com
münchen.tenanta.contoso.com München.Example
ana@tenanta.contoso.com jörg@contoso.com
`})
	m := Message{
		From:  "ana@tenanta.contoso.com",
		Rcpts: []string{"x@contoso.com", "y@münchen.example"},
		Headers: hdrs(
			"From: Ana <ana@tenanta.contoso.com>",
			"To: x@contoso.com, Y <y@münchen.example>",
			"Cc: z@xn--mnchen-3ya.tenanta.contoso.com",
		),
	}
	type want struct {
		sender  string
		rcpts   []string
		headers []string
		needs   []string
	}
	got := func(p Plan) want {
		var w want
		if p.Sender != nil {
			w.sender = p.Sender.New
		}
		for _, r := range p.Rcpts {
			w.rcpts = append(w.rcpts, r.New)
		}
		for _, h := range p.Headers {
			w.headers = append(w.headers, h.Name+":"+h.New)
		}
		for _, c := range p.NeedUTF8 {
			w.needs = append(w.needs, c.Field+":"+c.Old+"->"+c.New)
		}
		return w
	}
	o := PlanOptions{Sender: true, OutboundToCc: true, Recipients: true, InboundToCc: true}
	plain := want{
		rcpts: []string{"x@xn--mnchen-3ya.tenanta.contoso.com", "y@xn--mnchen-3ya.tenanta.contoso.com"},
		headers: []string{
			"To: x@xn--mnchen-3ya.tenanta.contoso.com, Y <y@xn--mnchen-3ya.tenanta.contoso.com>",
			"Cc: z@xn--mnchen-3ya.example",
		},
		needs: []string{
			"mail-from:ana@tenanta.contoso.com->jörg@contoso.com",
			"From:ana@tenanta.contoso.com->jörg@contoso.com",
		},
	}
	if g := got(Compute(tb.Snapshot(), o, m)); !reflect.DeepEqual(g, plain) {
		t.Errorf("plain transaction:\n got  %+v\n want %+v", g, plain)
	}
	o.SMTPUTF8 = true
	utf8 := want{
		sender: "jörg@contoso.com",
		rcpts:  []string{"x@münchen.tenanta.contoso.com", "y@münchen.tenanta.contoso.com"},
		headers: []string{
			"From: Ana <jörg@contoso.com>",
			"To: x@münchen.tenanta.contoso.com, Y <y@münchen.tenanta.contoso.com>",
			"Cc: z@München.Example",
		},
	}
	if g := got(Compute(tb.Snapshot(), o, m)); !reflect.DeepEqual(g, utf8) {
		t.Errorf("SMTPUTF8 transaction:\n got  %+v\n want %+v", g, utf8)
	}
}
