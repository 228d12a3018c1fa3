package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// TestE2EReloadGuard truncates a 10,000-rule file to 10 lines under a running daemon, as a
// deploy that went wrong or a clumsy edit would. The daemon holds the edit: the old rules keep
// routing mail through Postfix, reload_held says so, `check` shows what the edit would remove,
// and only SIGHUP (systemctl reload) applies it.
func TestE2EReloadGuard(t *testing.T) {
	harness.RequirePostfix(t)
	bin := harness.MustBuildEdgerewrite(t)
	dir := e2eDir(t)
	sink := harness.NewSink(t)
	d := e2eStartDaemon(t, bin, dir, "guard", "", "", e2eRead(t, "reload.toml"), "reload-rules")
	pf := harness.NewPostfix(t, harness.PostfixOptions{
		Name:                "e2e-guard",
		RelayTo:             sink.Addr(),
		Services:            []harness.Service{{Name: "smtpd-tenants"}},
		Milters:             []string{d.Listen},
		MilterDefaultAction: "tempfail",
	})
	users := filepath.Join(d.RulesDir, "users.rules")
	var b strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&b, "user%d@tenanta.contoso.com user%d@contoso.com\n", i, i)
	}
	e2eAtomicWrite(t, users, b.String())
	waitMetric := func(name string, want float64) { t.Helper(); e2eWaitMetric(t, d.Metrics, name, want) }
	waitMetric(e2eRulesLoaded, 10001) // and the one rule of reload-rules/
	n := 0
	deliveredTo := func(rcpt string) []string {
		t.Helper()
		n++
		env, id := e2eInternetMessage(rcpt, fmt.Sprintf("guard-%d", n))
		harness.MustSend(t, pf.Addr(), env)
		return e2eWaitMessage(t, sink, id).RcptAddrs()
	}
	if got := deliveredTo("user5000@contoso.com"); len(got) != 1 || got[0] != "user5000@tenanta.contoso.com" {
		t.Fatalf("before the edit: delivered to %q", got)
	}

	// Truncated in place to its first 10 lines.
	var first10 strings.Builder
	for i := range 10 {
		fmt.Fprintf(&first10, "user%d@tenanta.contoso.com user%d@contoso.com\n", i, i)
	}
	if err := os.WriteFile(users, []byte(first10.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	waitMetric("edgerewrite_reload_held", 1)
	if got := deliveredTo("user5000@contoso.com"); len(got) != 1 || got[0] != "user5000@tenanta.contoso.com" {
		t.Errorf("while the edit is held: delivered to %q, want the old rules serving", got)
	}
	if _, err := e2eWaitLog(d, "reload held"); err != nil {
		t.Error(err)
	}
	out, _ := exec.Command(bin, "check", "-c", filepath.Join(dir, "guard.toml")).CombinedOutput()
	if !strings.Contains(string(out), "held edit: would remove 9990 of the 10001 rules in service") {
		t.Errorf("check does not show the held edit:\n%s", out)
	}

	// The admin confirms.
	if err := d.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitMetric("edgerewrite_reload_held", 0)
	waitMetric(e2eRulesLoaded, 11)
	if got := deliveredTo("user5000@contoso.com"); len(got) != 1 || got[0] != "user5000@contoso.com" {
		t.Errorf("after SIGHUP: delivered to %q, want the truncated rules in service", got)
	}
}
