package policy

import (
	"testing"
	"time"
)

func TestVerdictStrings(t *testing.T) {
	tests := []struct {
		v             Verdict
		reply, String string
	}{
		{Verdict{}, "", "accept"},
		{Verdict{Action: Reject, Code: 550, Status: "5.7.1", Text: "sender domain fabrikam.com is not allowed for tenant tenant-a",
			Reason: "sender-domain: fabrikam.com"},
			"550 5.7.1 sender domain fabrikam.com is not allowed for tenant tenant-a",
			"reject 550 5.7.1 sender domain fabrikam.com is not allowed for tenant tenant-a (sender-domain: fabrikam.com)"},
		{Verdict{Action: Tempfail, Code: 451, Status: "4.7.1", Text: "try later"}, "451 4.7.1 try later", "tempfail 451 4.7.1 try later"},
		{Verdict{Action: Hold, Text: "cutover fabrikam.com: moving", Reason: "cutover-hold: fabrikam.com"}, "", "hold (cutover-hold: fabrikam.com)"},
		{Verdict{Action: Action(9)}, "", "action(9)"},
	}
	for _, tt := range tests {
		if got := tt.v.Reply(); got != tt.reply {
			t.Errorf("Reply() = %q, want %q", got, tt.reply)
		}
		if got := tt.v.String(); got != tt.String {
			t.Errorf("String() = %q, want %q", got, tt.String)
		}
	}
}

// TestMessageStaleClass: a connection classified under an older Policy whose tenant is gone
// after a reload gets a temporary failure, never trust.
func TestMessageStaleClass(t *testing.T) {
	p := load(t, "two-tenants.toml")
	cl := Class{Connector: "old", Tenant: "tenant-gone", Outbound: true}
	got := p.Message(cl, Message{From: "x@tenanta.contoso.com"}, time.Now())
	if got.Verdict.Action != Tempfail || got.Verdict.Reason != "unknown-tenant: tenant-gone" || got.RewriteSender {
		t.Errorf("Message = %v rewrite=%v", got.Verdict, got.RewriteSender)
	}
}
