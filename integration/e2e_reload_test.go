package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// Metric names TestE2EReload reads from the daemon's /metrics.
const (
	e2eRulesLoaded  = "edgerewrite_rules_loaded"
	e2eReloadOK     = "edgerewrite_config_last_reload_successful"
	e2eReloadBudget = time.Second // the design's promise: a rule edit is in effect in under one second
)

// TestE2EReload edits the rules directory of edgerewrite running under Postfix: an added
// rule file is in effect within a second, a broken edit keeps the old rules serving and
// shows in the reload metric and the log (file:line), and fixing it recovers.
func TestE2EReload(t *testing.T) {
	harness.RequirePostfix(t)
	bin := harness.MustBuildEdgerewrite(t)
	dir := e2eDir(t)
	sink := harness.NewSink(t)
	d := e2eStartDaemon(t, bin, dir, "reload", "", "", e2eRead(t, "reload.toml"), "reload-rules")
	pf := harness.NewPostfix(t, harness.PostfixOptions{
		Name:                "e2e-reload",
		RelayTo:             sink.Addr(),
		Services:            []harness.Service{{Name: "smtpd-tenants"}},
		Milters:             []string{d.Listen},
		MilterDefaultAction: "tempfail",
	})
	n := 0
	// send sends an outbound message from sender and returns the sink's MAIL FROM.
	send := func(t *testing.T, sender string) string {
		t.Helper()
		n++
		id := fmt.Sprintf("<reload-%d@tenanta.contoso.com>", n)
		harness.MustSend(t, pf.ServiceAddr("smtpd-tenants"), harness.Envelope{
			LocalAddr: "127.0.0.5", From: sender, Rcpts: harness.Rcpts("partner@example.org"),
			Data: harness.BuildMessage([]string{"From: " + sender, "To: partner@example.org", "Subject: reload",
				"Date: Mon, 23 Nov 2026 10:00:00 +0000", "Message-ID: " + id}, "reload\n"),
		})
		return e2eWaitMessage(t, sink, id).From
	}
	metric := func(t *testing.T, name string) float64 {
		t.Helper()
		v, err := e2eMetric(d.Metrics, name)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// waitMetric polls name until it equals want and returns the time it took from since.
	waitMetric := func(t *testing.T, name string, want float64, since time.Time) time.Duration {
		t.Helper()
		for {
			v, err := e2eMetric(d.Metrics, name)
			if err == nil && v == want {
				return time.Since(since)
			}
			if time.Since(since) > e2eTimeout {
				t.Fatalf("%s is %v (%v) %s after the edit, want %v", name, v, err, e2eTimeout, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	alice := filepath.Join(d.RulesDir, "alice.rules")

	t.Run("a rule file added is in effect within a second", func(t *testing.T) {
		if got := send(t, "alice@tenanta.contoso.com"); got != "alice@tenanta.contoso.com" {
			t.Fatalf("before the rule: MAIL FROM <%s>, want it unchanged", got)
		}
		if got := metric(t, e2eRulesLoaded); got != 1 {
			t.Fatalf("%s = %v at start, want 1", e2eRulesLoaded, got)
		}
		renamed := e2eAtomicWrite(t, alice, "alice@tenanta.contoso.com  alice@contoso.com\n")
		took := waitMetric(t, e2eRulesLoaded, 2, renamed)
		t.Logf("rename to rules_loaded = 2: %s", took)
		if took >= e2eReloadBudget {
			t.Errorf("the added rule took %s to be in effect, want under %s", took, e2eReloadBudget)
		}
		if got := send(t, "alice@tenanta.contoso.com"); got != "alice@contoso.com" {
			t.Errorf("message sent right after the reload: MAIL FROM <%s>, want <alice@contoso.com>", got)
		}
		if ok := metric(t, e2eReloadOK); ok != 1 {
			t.Errorf("%s = %v after a good edit, want 1", e2eReloadOK, ok)
		}
	})

	t.Run("a broken edit keeps the old rules serving", func(t *testing.T) {
		renamed := e2eAtomicWrite(t, alice, "alice@tenanta.contoso.com  alice@contoso.com\n"+
			"carol@tenanta.contoso.com  carol@contoso.com\n"+
			"this-line-has-one-field-only\n")
		took := waitMetric(t, e2eReloadOK, 0, renamed)
		t.Logf("rename to %s = 0: %s", e2eReloadOK, took)
		if got := metric(t, e2eRulesLoaded); got != 2 {
			t.Errorf("%s = %v after the broken edit, want the 2 rules in service", e2eRulesLoaded, got)
		}
		if got := send(t, "alice@tenanta.contoso.com"); got != "alice@contoso.com" {
			t.Errorf("after the broken edit: MAIL FROM <%s>, want <alice@contoso.com> (old rule serving)", got)
		}
		if got := send(t, "carol@tenanta.contoso.com"); got != "carol@tenanta.contoso.com" {
			t.Errorf("after the broken edit: MAIL FROM <%s>, want the rule of the rejected file not in service", got)
		}
		line := e2eLogLine(t, d, "alice.rules:3")
		if !strings.Contains(line, "this-line-has-one-field-only") {
			t.Errorf("the error line does not quote the bad value: %s", line)
		}
	})

	t.Run("fixing the edit sets the reload metric back to 1", func(t *testing.T) {
		renamed := e2eAtomicWrite(t, alice, "alice@tenanta.contoso.com  alice@contoso.com\n"+
			"carol@tenanta.contoso.com  carol@contoso.com\n")
		took := waitMetric(t, e2eReloadOK, 1, renamed)
		t.Logf("rename to %s = 1: %s", e2eReloadOK, took)
		if got := metric(t, e2eRulesLoaded); got != 3 {
			t.Errorf("%s = %v after the fix, want 3", e2eRulesLoaded, got)
		}
		if got := send(t, "carol@tenanta.contoso.com"); got != "carol@contoso.com" {
			t.Errorf("after the fix: MAIL FROM <%s>, want <carol@contoso.com>", got)
		}
	})
}

// e2eAtomicWrite saves content as path the way editors and deploy tools do: a temporary file
// (a name the rule loader ignores) renamed over path. It returns the time just before the rename.
func e2eAtomicWrite(t *testing.T, path, content string) time.Time {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	return at
}
