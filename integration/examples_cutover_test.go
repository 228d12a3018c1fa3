package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// cutoverMarker starts the [[cutover]] tables in postfix-examples/cutover/edgerewrite.toml; the
// README's "before" and "after" states are the file without them.
const cutoverMarker = "# --- The cutover window"

// TestExampleCutover runs postfix-examples/cutover (seed 001) through before, during and after,
// doing at each step what its README tells the admin to do.
func TestExampleCutover(t *testing.T) {
	ca := newExampleCA(t)
	hopA, hopB := harness.NewTLSSink(t, "tenanta", ca), harness.NewTLSSink(t, "tenantb", ca)
	ex := startExample(t, exampleOptions{
		Folder:       "cutover",
		CA:           ca,
		Hops:         map[string]*harness.Sink{"tenanta": hopA, "tenantb": hopB},
		GatewayNames: []string{"mx1.contoso.com"},
		ClientCerts:  map[string]string{"tenanta": "tenanta.contoso.com", "tenantb": "tenantb.contoso.com"},
	})
	const public = "203.0.113.25:smtp"
	during, err := os.ReadFile(ex.confPath)
	if err != nil {
		t.Fatal(err)
	}
	withoutCutover := string(during)[:strings.Index(string(during), cutoverMarker)]
	reset := func() { ex.internet.Reset(); hopA.Reset(); hopB.Reset() }
	msg := func(rcpt string) harness.Envelope {
		return ex.fromInternet(harness.Envelope{From: "sender@example.org", Rcpts: harness.Rcpts(rcpt),
			Data: harness.BuildMessage([]string{"From: sender@example.org", "To: " + rcpt, "Subject: for " + rcpt}, "x\n")})
	}
	// accepted sends until edgerewrite has reloaded and takes the message (or 10 s pass).
	accepted := func(t *testing.T, rcpt string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			res := ex.send(public, msg(rcpt))
			if res.Err() == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("mail for %s still refused after the reload: %v", rcpt, res.Err())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	setConfig := func(t *testing.T, conf string) {
		t.Helper()
		if err := os.WriteFile(ex.confPath, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := ex.er.Signal(syscall.SIGHUP); err != nil { // systemctl reload edgerewrite
			t.Fatal(err)
		}
	}

	t.Run("before: the domain in tenant A, a moved mailbox in tenant B", func(t *testing.T) {
		reset()
		setConfig(t, withoutCutover)
		accepted(t, "bob@fabrikam.com")
		a := waitFor(t, hopA, 1, deliveryTimeout)[0]
		wantRcpts(t, a.RcptAddrs(), "bob@fabrikam.com")
		ex.mustSend(public, msg("anna@fabrikam.com"))
		b := waitFor(t, hopB, 1, deliveryTimeout)[0]
		wantRcpts(t, b.RcptAddrs(), "anna@tenantb.contoso.com")
	})

	t.Run("during: defer with the admin's text, hold for the address", func(t *testing.T) {
		reset()
		setConfig(t, string(during))
		deadline := time.Now().Add(10 * time.Second)
		var r harness.Reply
		for {
			r = ex.send(public, msg("bob@fabrikam.com")).Refusal()
			if r.Code != 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond) // accepted: the reload has not happened yet
		}
		hopA.Reset()
		if r.Code != 451 || r.Enhanced != "4.7.1" || r.Text != "fabrikam.com is moving to a new mail system; please try again later" {
			t.Errorf("reply %q, want 451 4.7.1 and the text of edgerewrite.toml", r.String())
		}
		wantRefused(t, ex.send(public, msg("anna@fabrikam.com")), 451, "4.7.1")
		if _, err := ex.pf.WaitLog("451 4.7.1 fabrikam.com is moving", deliveryTimeout); err != nil {
			t.Error(err)
		}
		if !strings.Contains(ex.er.Log(), "bob@fabrikam.com") {
			t.Errorf("edgerewrite did not record the deferred attempt for bob@fabrikam.com; log:\n%s", ex.er.Log())
		}
		res := ex.mustSend(public, msg("invoices@fabrikam.com"))
		if q := waitHeld(t, ex.pf, res.QueueID, deliveryTimeout); q.Recipients[0].Address != "invoices@fabrikam.com" {
			t.Errorf("held message %+v", q)
		}
		wantNothingAt(t, ex.internet, hopA, hopB)
	})

	t.Run("after: route switched, held mail released into tenant B", func(t *testing.T) {
		reset()
		ex.editMap("transport", func(s string) string {
			return regexp.MustCompile(`(?m)^(fabrikam\.com\s+)tenanta:`).ReplaceAllString(s, "${1}tenantb:")
		})
		rules := filepath.Join(ex.rulesDir, "moved-to-tenant-b.rules")
		old, err := os.ReadFile(rules)
		if err != nil {
			t.Fatal(err)
		}
		var kept []string
		for _, l := range strings.SplitAfter(string(old), "\n") {
			if strings.HasPrefix(l, "#") {
				kept = append(kept, l)
			}
		}
		if err := os.WriteFile(rules, []byte(strings.Join(kept, "")), 0o644); err != nil {
			t.Fatal(err)
		}
		setConfig(t, withoutCutover)
		ex.waitMetric("edgerewrite_rules_loaded", "0")
		if err := ex.pf.ReleaseHeld(); err != nil {
			t.Fatal(err)
		}
		b := waitFor(t, hopB, 1, deliveryTimeout)[0]
		wantRcpts(t, b.RcptAddrs(), "invoices@fabrikam.com")
		if b.ClientCN != "tenantb.contoso.com" {
			t.Errorf("released mail reached Microsoft 365 with certificate %q, want tenantb.contoso.com", b.ClientCN)
		}
		accepted(t, "bob@fabrikam.com")
		ex.mustSend(public, msg("anna@fabrikam.com"))
		msgs := waitFor(t, hopB, 3, deliveryTimeout)
		var got []string
		for _, m := range msgs {
			got = append(got, m.RcptAddrs()...)
		}
		wantRcpts(t, got, "invoices@fabrikam.com", "bob@fabrikam.com", "anna@fabrikam.com")
		if n := len(hopA.Messages()); n > 0 {
			t.Errorf("%d messages still went to tenant A after the cutover", n)
		}
	})
}
