package integration

import (
	"fmt"
	"testing"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// TestE2EIDN sends Internet mail for a shared address whose rule leads to an IDN domain, once
// in a plain transaction and once with SMTPUTF8. The plain one reaches the next hop with the
// A-label in RCPT TO and in To; only the SMTPUTF8 one carries the U-label (RFC 6530 §7.1: a
// plain transaction may not hold UTF-8).
func TestE2EIDN(t *testing.T) {
	harness.RequirePostfix(t)
	bin := harness.MustBuildEdgerewrite(t)
	dir := e2eDir(t)
	sink := harness.NewSink(t)
	d := e2eStartDaemon(t, bin, dir, "idn", "", "", e2eRead(t, "reload.toml"), "idn-rules")
	pf := harness.NewPostfix(t, harness.PostfixOptions{
		Name:                "e2e-idn",
		RelayTo:             sink.Addr(),
		Services:            []harness.Service{{Name: "smtpd-tenants"}},
		Milters:             []string{d.Listen},
		MilterDefaultAction: "tempfail",
	})
	for _, tc := range []struct {
		name     string
		smtputf8 bool
		want     string
	}{
		{"plain transaction: A-label", false, "x@xn--mnchen-3ya.tenanta.contoso.com"},
		{"SMTPUTF8 transaction: U-label", true, "x@münchen.tenanta.contoso.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("<idn-%t@example.org>", tc.smtputf8)
			harness.MustSend(t, pf.Addr(), harness.Envelope{
				LocalAddr: "127.0.0.6", From: "sender@example.org", Rcpts: harness.Rcpts("x@contoso.com"),
				SMTPUTF8: tc.smtputf8,
				Data: harness.BuildMessage([]string{"From: sender@example.org", "To: x@contoso.com", "Subject: idn",
					"Date: Mon, 23 Nov 2026 10:00:00 +0000", "Message-ID: " + id}, "idn\n"),
			})
			m := e2eWaitMessage(t, sink, id)
			e2eWantRcpts(t, m, tc.want)
			if m.SMTPUTF8() != tc.smtputf8 {
				t.Errorf("next hop's transaction SMTPUTF8 = %v, want %v", m.SMTPUTF8(), tc.smtputf8)
			}
			if got := harness.Unfold(m.Header().Get("To")); got != " "+tc.want && got != tc.want {
				t.Errorf("To: %q, want %s", got, tc.want)
			}
		})
	}
}
