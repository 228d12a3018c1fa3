package decide

import (
	"cmp"
	"reflect"
	"testing"

	"github.com/edgerewrite/edgerewrite/milter/config"
	"github.com/edgerewrite/edgerewrite/rewrite"
)

// TestDecide_InboundHeaderRewrite: each inbound_header_rewrite setting rewrites the envelope
// recipient alike and differs only in a To or Cc that a DKIM signature covers.
func TestDecide_InboundHeaderRewrite(t *testing.T) {
	snap, pol := decideFixtures(t, nil)
	in := Input{Conn: connInternet, From: "s@example.net", Rcpts: []Rcpt{{Addr: "dave@fabrikam.com"}},
		Headers: []rewrite.Header{
			{Name: "DKIM-Signature", Value: " v=1; a=rsa-sha256; d=example.net; s=s1; h=From:To:Subject; bh=x; b=y"},
			{Name: "To", Value: " dave@fabrikam.com"},
			{Name: "Cc", Value: " dave@fabrikam.com"},
		}}
	envelope := []string{
		"SMFIR_DELRCPT <dave@fabrikam.com>",
		"SMFIR_ADDRCPT_PAR <dave@tenantb.contoso.com> ORCPT=rfc822;dave@fabrikam.com",
	}
	to := "SMFIR_CHGHEADER To[1]: dave@tenantb.contoso.com"
	cc := "SMFIR_CHGHEADER Cc[1]: dave@tenantb.contoso.com"
	tests := []struct {
		setting  string
		want     []string
		wantKept int
	}{
		{config.InboundUnsigned, append(envelope[:2:2], cc), 1},
		{"", append(envelope[:2:2], cc), 1},
		{config.InboundAlways, append(envelope[:2:2], to, cc), 0},
		{config.InboundNever, envelope, 0},
	}
	for _, tc := range tests {
		t.Run(cmp.Or(tc.setting, "not set"), func(t *testing.T) {
			g := gen(snap, pol)
			g.Options.InboundHeaderRewrite = tc.setting
			out := Decide(g, in, testNow)
			if got := actionStrings(out.Actions); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("actions:\n got %q\nwant %q", got, tc.want)
			}
			if len(out.Plan.Kept) != tc.wantKept {
				t.Errorf("kept %d signed fields, want %d", len(out.Plan.Kept), tc.wantKept)
			}
			var logged string
			for _, a := range out.LogAttrs(&in) {
				if a.Key == "not_rewritten_dkim_signed" {
					logged = a.Value.String()
				}
			}
			if want := map[bool]string{true: "[To:dave@fabrikam.com->dave@tenantb.contoso.com]", false: ""}[tc.wantKept > 0]; logged != want {
				t.Errorf("log line not_rewritten_dkim_signed=%q, want %q", logged, want)
			}
		})
	}
}
