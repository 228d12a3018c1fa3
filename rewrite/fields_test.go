package rewrite

import (
	"errors"
	"reflect"
	"testing"
)

func TestReadAddressFields(t *testing.T) {
	fs := ReadAddressFields(hdrs(
		"Received: from x",
		"From: <mary@tenantb.contoso.com>, (x <john@tenanta.contoso.com>",
		`from: "Smith, John" <john@tenanta.contoso.com>`,
		"Sender: x: mary@tenantb.contoso.com, john@tenanta.contoso.com;",
		"To: <>",
		"Resent-From: \"john@tenanta.contoso.com",
		"Subject: john@tenanta.contoso.com",
		"Reply-To: a@b.example\r c@d.example",
	))
	type got struct {
		name   string
		index  int
		addrs  []string
		err    bool
		sender bool
	}
	var gs []got
	for _, f := range fs {
		if f.Err != nil && !errors.Is(f.Err, ErrUnparsable) {
			t.Errorf("%s: %v does not wrap ErrUnparsable", f.Name, f.Err)
		}
		gs = append(gs, got{f.Name, f.Index, f.Addrs, f.Err != nil, f.IsSender()})
	}
	want := []got{
		{"From", 1, nil, true, true}, // unclosed comment: unknown what a reader shows
		{"from", 2, []string{"john@tenanta.contoso.com"}, false, true},
		{"Sender", 1, []string{"mary@tenantb.contoso.com", "john@tenanta.contoso.com"}, false, true},
		{"To", 1, []string{}, false, false},
		{"Resent-From", 1, nil, true, true}, // unclosed quote
		{"Reply-To", 1, nil, true, false},   // bare CR
	}
	if !reflect.DeepEqual(gs, want) {
		t.Errorf("ReadAddressFields:\n got  %+v\n want %+v", gs, want)
	}
}

// TestComputeUsesFieldsRead checks that Compute rewrites the fields it is given and does not
// read Headers again: the plan follows Fields even where Headers says otherwise.
func TestComputeUsesFieldsRead(t *testing.T) {
	l := newFakeLookup()
	fs := ReadAddressFields(hdrs("From: john@tenanta.contoso.com"))
	p := Compute(l, PlanOptions{Sender: true}, Message{Headers: hdrs("From: bob@tenantb.contoso.com"), Fields: fs})
	if len(p.Headers) != 1 || p.Headers[0].New != " john@contoso.com" {
		t.Errorf("plan: %s", dumpPlan(p))
	}
	// A field not made by ReadAddressFields is read from its Value.
	p = Compute(l, PlanOptions{Sender: true}, Message{Fields: []AddressField{{Name: "From", Index: 1, Value: " bob@tenantb.contoso.com"}}})
	if len(p.Headers) != 1 || p.Headers[0].New != " bob@contoso.com" {
		t.Errorf("plan of a hand-made field: %s", dumpPlan(p))
	}
}
