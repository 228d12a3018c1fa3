package decide

import (
	"net/netip"
	"testing"

	"github.com/edgerewrite/edgerewrite/milter/config"
	"github.com/edgerewrite/edgerewrite/policy"
	"github.com/edgerewrite/edgerewrite/rewrite"
)

// TestDecideSpellings runs every spelling of an address under cutover, keep and pilot through
// Decide, the function the daemon's session makes its calls through: letter case, needless
// quotes, an extension, NFC or NFD, U-label or A-label get the verdict of the plain form, and
// addresses that only look alike do not.
func TestDecideSpellings(t *testing.T) {
	cfg, err := config.LoadConfig("testdata/spellings.toml")
	if err != nil {
		t.Fatal(err)
	}
	table := rewrite.NewTable(rewrite.Options{RecipientDelimiter: "+"})
	if _, err := table.Load(cfg.RulesDir); err != nil {
		t.Fatal(err)
	}
	g := NewGeneration(1, cfg, table.Snapshot())
	internet := policy.Conn{Addr: netip.MustParseAddr("203.0.113.5"), DaemonName: "smtpd"}
	inbound := func(rcpt string) Outcome {
		return Decide(g, Input{Conn: internet, From: "s@example.net", Rcpts: []Rcpt{{Addr: rcpt}}}, testNow)
	}
	deferred := func(addr string) bool { return inbound(addr).Rcpts[0].Result.Verdict.Action == policy.Tempfail }
	kept := func(addr string) bool {
		o := inbound(addr)
		return !o.Rcpts[0].Refused() && o.Rcpts[0].Result.Route == ""
	}
	pilot := func(addr string) bool {
		o := Decide(g, Input{Conn: connTenantA, From: addr, Rcpts: []Rcpt{{Addr: "x@example.net"}}}, testNow)
		return o.RewriteSender
	}
	for _, tc := range []struct {
		judge     func(string) bool
		what      string
		plain     string
		spellings []string
		others    []string
	}{
		{deferred, "cutover", "john@contoso.com",
			[]string{"JOHN@contoso.com", `"john"@contoso.com`, "john+tag@contoso.com", `"John+SRS=ab"@CONTOSO.com`, "john@contoso.com."},
			[]string{"johnny@contoso.com", "jo.hn@contoso.com"}},
		{deferred, "cutover", "josé@bücher.example",
			[]string{"jose\u0301@bücher.example", "JOSÉ@BÜCHER.example", `"josé"@xn--bcher-kva.example`, "jose\u0301+x@XN--BCHER-KVA.example"},
			[]string{"jose@bücher.example"}},
		{kept, "keep", "pat@fabrikam.com",
			[]string{"PAT@fabrikam.com", `"pat"@fabrikam.com`, "pat+x@FABRIKAM.COM"},
			[]string{"patricia@fabrikam.com"}},
		{kept, "keep", "zoë@fabrikam.com",
			[]string{"zoe\u0308@fabrikam.com", "ZOË@fabrikam.com", `"zoë"@fabrikam.com`},
			[]string{"zoe@fabrikam.com"}},
		{pilot, "pilot", "john@tenanta.contoso.com",
			[]string{"JOHN@TenantA.contoso.com", `"john"@tenanta.contoso.com`, "john+SRS=x=y@tenanta.contoso.com"},
			[]string{"jane@tenanta.contoso.com"}},
		{pilot, "pilot", "josé@bücher.example",
			[]string{"jose\u0301@bücher.example", "josé@xn--bcher-kva.example", `"JOSÉ"@bücher.example`},
			[]string{"jose@bücher.example"}},
	} {
		if !tc.judge(tc.plain) {
			t.Fatalf("%s: the plain form %s is not caught: the table proves nothing", tc.what, tc.plain)
		}
		for _, s := range tc.spellings {
			if !tc.judge(s) {
				t.Errorf("%s: %s gets another verdict than %s", tc.what, s, tc.plain)
			}
		}
		for _, s := range tc.others {
			if tc.judge(s) {
				t.Errorf("%s: %s is not %s but gets its verdict", tc.what, s, tc.plain)
			}
		}
	}
}
