package policy

import (
	"testing"
	"time"
)

// TestAddressSpellings: every spelling of a listed address (letter case, needless quotes, an
// extension, NFC or NFD, U-label or A-label, a trailing dot) gets the verdict of its plain form
// under cutover, keep and pilot, because policy compares with rewrite's address model.
func TestAddressSpellings(t *testing.T) {
	p := load(t, "two-tenants.toml", func(c *Config) {
		c.RecipientDelimiter = "+"
		c.Organization.PilotSenders = []string{"john@tenanta.contoso.com", "josé@bücher.example"}
		start, end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
		c.Cutovers = append(c.Cutovers,
			Cutover{Match: "john@tenanta.contoso.com", Action: "defer", Start: start, End: end},
			Cutover{Match: "josé@bücher.example", Action: "defer", Start: start, End: end})
		c.Domains = append(c.Domains,
			Domain{Name: "tenanta.contoso.com", Unresolved: "route", RouteTo: "live.contoso.edu", Keep: []string{"john@tenanta.contoso.com"}},
			Domain{Name: "xn--bcher-kva.example", Unresolved: "route", RouteTo: "live.contoso.edu", Keep: []string{"josé@bücher.example"}})
	})
	now := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	type verdicts struct {
		deferred, kept, pilot bool
	}
	judge := func(addr string) verdicts {
		cut := p.Recipient(testClasses["internet"], addr, false, now)
		// keep is decided after cutover: ask outside the cutovers' window.
		keep := p.Recipient(testClasses["internet"], addr, false, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
		msg := p.Message(testClasses["a"], Message{From: addr, Rcpts: []string{"x@example.net"}, CrossTenantIDs: []string{tenantAID}}, now)
		return verdicts{
			deferred: cut.Verdict.Action == Tempfail,
			kept:     keep.Verdict.Action == Accept && keep.Route == "",
			pilot:    msg.RewriteSender,
		}
	}
	for plain, spellings := range map[string][]string{
		"john@tenanta.contoso.com": {
			"JOHN@tenanta.contoso.com", `"john"@tenanta.contoso.com`, `"JOHN"@TENANTA.contoso.com`,
			"john+tag@tenanta.contoso.com", `"john+tag"@tenanta.contoso.com`, "John+SRS=ab=cd@TenantA.Contoso.COM.",
		},
		"josé@bücher.example": {
			"jose\u0301@bücher.example", "JOSÉ@bücher.example", `"josé"@bücher.example`, "josé+x@bücher.example",
			"josé@xn--bcher-kva.example", "jose\u0301@XN--BCHER-KVA.example", "josé@BÜCHER.example.",
		},
	} {
		want := judge(plain)
		if want != (verdicts{true, true, true}) {
			t.Fatalf("%s: %+v, want deferred, kept and in the pilot", plain, want)
		}
		for _, s := range spellings {
			if got := judge(s); got != want {
				t.Errorf("%s: %+v, but its plain form %s: %+v", s, got, plain, want)
			}
		}
	}
	for _, other := range []string{"johnny@tenanta.contoso.com", "jose@bücher.example", `"john smith"@tenanta.contoso.com`} {
		if got := judge(other); got != (verdicts{}) {
			t.Errorf("%s is not listed, but: %+v", other, got)
		}
	}
}
