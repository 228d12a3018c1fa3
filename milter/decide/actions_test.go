package decide

import (
	"reflect"
	"testing"

	"github.com/edgerewrite/edgerewrite/rewrite"
)

func TestXtext_RFC3461Section4(t *testing.T) {
	tests := []struct{ in, want string }{
		{"john@contoso.com", "john@contoso.com"},
		{"alice+SRS=x=y@contoso.com", "alice+2BSRS+3Dx+3Dy@contoso.com"},
		{"with space@contoso.com", "with+20space@contoso.com"},
		{"\"q\"@contoso.com", "\"q\"@contoso.com"},
		{"jörg@contoso.com", "j+C3+B6rg@contoso.com"},
		{"\x7f~!", "+7F~!"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := xtext(tc.in); got != tc.want {
			t.Errorf("xtext(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDSNArgs(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		original string
		want     string
	}{
		{"nothing sent: ORCPT names the original address", nil, "bob@contoso.com", "ORCPT=rfc822;bob@contoso.com"},
		{"NOTIFY kept, ORCPT added", []string{"NOTIFY=SUCCESS,DELAY"}, "ann+news@contoso.com", "NOTIFY=SUCCESS,DELAY ORCPT=rfc822;ann+2Bnews@contoso.com"},
		{"client's ORCPT kept verbatim", []string{"ORCPT=rfc822;Bob+2B1@contoso.com", "NOTIFY=NEVER"}, "bob+1@contoso.com", "ORCPT=rfc822;Bob+2B1@contoso.com NOTIFY=NEVER"},
		{"other parameters dropped (Postfix takes only NOTIFY and ORCPT)", []string{"SMTPUTF8", "RRVS=2026-12-01T00:00:00Z", "notify=failure"}, "x@contoso.com", "notify=failure ORCPT=rfc822;x@contoso.com"},
	}
	for _, tc := range tests {
		if got := dsnArgs(tc.args, tc.original); got != tc.want {
			t.Errorf("%s: dsnArgs(%q, %q) = %q, want %q", tc.name, tc.args, tc.original, got, tc.want)
		}
	}
}

func TestPlanActions_Order(t *testing.T) {
	plan := rewrite.Plan{
		Sender: &rewrite.Change{Field: "mail-from", Old: "john@tenanta.contoso.com", New: "john@contoso.com"},
		Rcpts: []rewrite.RcptChange{
			{Index: 0, Old: "bob@contoso.com", New: "bob@tenantb.contoso.com"},
			{Index: 2, Old: "BOB@contoso.com", New: "BOB@tenantb.contoso.com", Duplicate: true},
		},
		Headers: []rewrite.HeaderChange{
			{Name: "From", Index: 1, Old: " john@tenanta.contoso.com", New: " john@contoso.com"},
			{Name: "To", Index: 2, Old: " bob@contoso.com,\n\tx@example.net", New: " bob@tenantb.contoso.com,\n\tx@example.net"},
		},
	}
	rcpts := []Rcpt{{Addr: "bob@contoso.com", Args: []string{"NOTIFY=DELAY"}}, {Addr: "x@example.net"}, {Addr: "BOB@contoso.com"}}
	want := []string{
		"SMFIR_CHGFROM <john@contoso.com>",
		"SMFIR_DELRCPT <bob@contoso.com>",
		"SMFIR_ADDRCPT_PAR <bob@tenantb.contoso.com> NOTIFY=DELAY ORCPT=rfc822;bob@contoso.com",
		"SMFIR_DELRCPT <BOB@contoso.com>",
		"SMFIR_CHGHEADER From[1]: john@contoso.com",
		"SMFIR_CHGHEADER To[2]: bob@tenantb.contoso.com,\n\tx@example.net",
	}
	var got []string
	for _, a := range PlanActions(plan, rcpts) {
		got = append(got, a.String())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PlanActions:\n got %q\nwant %q", got, want)
	}
}

func TestPlanActions_NullSenderNeverChanged(t *testing.T) {
	plan := rewrite.Plan{Sender: &rewrite.Change{Field: "mail-from", Old: "", New: "x@contoso.com"}}
	if acts := PlanActions(plan, nil); len(acts) != 0 {
		t.Errorf("null sender: %v, want no action", acts)
	}
}
