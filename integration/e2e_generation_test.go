package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// TestE2EGenerationSwap deploys, through a real Postfix, a config edit that makes contoso.com
// authoritative ([[domain]] unresolved = "reject") together with a rule file that is broken.
// Nothing of the deploy may serve: mail for an address no rule resolves flows as before and the
// reload gauge reads 0. Fixing the rule file brings the new config and the rules in together.
func TestE2EGenerationSwap(t *testing.T) {
	harness.RequirePostfix(t)
	bin := harness.MustBuildEdgerewrite(t)
	dir := e2eDir(t)
	sink := harness.NewSink(t)
	policy := e2eRead(t, "reload.toml")
	d := e2eStartDaemon(t, bin, dir, "generation", "", "", policy, "reload-rules")
	pf := harness.NewPostfix(t, harness.PostfixOptions{
		Name:                "e2e-generation",
		RelayTo:             sink.Addr(),
		Services:            []harness.Service{{Name: "smtpd-tenants"}},
		Milters:             []string{d.Listen},
		MilterDefaultAction: "tempfail",
	})
	n := 0
	// inbound sends an Internet message to rcpt and returns the result of the transaction.
	inbound := func(t *testing.T, rcpt string) (*harness.Result, string) {
		t.Helper()
		n++
		env, id := e2eInternetMessage(rcpt, fmt.Sprintf("generation-%d", n))
		res, err := harness.Send(pf.Addr(), env)
		if err != nil {
			t.Fatal(err)
		}
		return res, id
	}
	metric := func(t *testing.T, name string) float64 {
		t.Helper()
		v, err := e2eMetric(d.Metrics, name)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	waitMetric := func(t *testing.T, name string, want float64) { t.Helper(); e2eWaitMetric(t, d.Metrics, name, want) }
	cfgPath := filepath.Join(dir, "generation.toml") // written by e2eStartDaemon
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join(d.RulesDir, "moved.rules")

	if res, id := inbound(t, "pat@contoso.com"); res.Refusal().Code != 0 {
		t.Fatalf("before the deploy: %v", res.Err())
	} else {
		e2eWaitMessage(t, sink, id)
	}

	// The deploy: the new [[domain]] and its rules, written together; one rule line is broken.
	e2eAtomicWrite(t, rules, "pat@tenanta.contoso.com pat@contoso.com\nthis-line-has-one-field-only\n")
	e2eAtomicWrite(t, cfgPath, string(cfg)+"\n[[domain]]\nname = \"contoso.com\"\nunresolved = \"reject\"\n")
	waitMetric(t, e2eReloadOK, 0)
	if _, err := e2eWaitLog(d, "moved.rules:2"); err != nil {
		t.Errorf("the broken line is not named in the log: %v", err)
	}
	res, id := inbound(t, "lee@contoso.com")
	if res.Refusal().Code != 0 {
		t.Errorf("an unresolved recipient while the deploy is rejected: %v; want it delivered as before", res.Err())
	} else {
		e2eWantRcpts(t, e2eWaitMessage(t, sink, id), "lee@contoso.com")
	}
	if got := metric(t, e2eReloadOK); got != 0 {
		t.Errorf("%s = %v while the deploy is rejected, want 0", e2eReloadOK, got)
	}

	// The fix brings both in at once.
	e2eAtomicWrite(t, rules, "pat@tenanta.contoso.com pat@contoso.com\n")
	waitMetric(t, e2eReloadOK, 1)
	res, _ = inbound(t, "lee@contoso.com")
	e2eWantRcptReply(t, res, 550, "5.1.1", "<lee@contoso.com>: recipient address rejected: unknown in the shared domain contoso.com")
	res, id = inbound(t, "pat@contoso.com")
	if res.Refusal().Code != 0 {
		t.Fatalf("pat after the fix: %v", res.Err())
	}
	e2eWantRcpts(t, e2eWaitMessage(t, sink, id), "pat@tenanta.contoso.com")
}
