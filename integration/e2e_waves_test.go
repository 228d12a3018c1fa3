package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// wavesPolicy is the config of TestE2EWaves: contoso.com is shared by tenant A and tenant B.
// Postfix's own mail (bounces: client 127.0.0.1, {daemon_name} $myhostname) is the "gateway"
// connector's, as in postfix-examples/cutover; released mail must not be taken for it.
const wavesPolicy = `recipient_delimiter = "+"

[organization]
domains = ["contoso.com", "tenanta.contoso.com", "tenantb.contoso.com"]

[[connector]]
name = "gateway"
tenant = "gateway"
networks = ["127.0.0.1"]
daemon_names = ["mx.edgerewrite.test"]

[[tenant]]
name = "gateway"
sender_domains = ["mx.edgerewrite.test"]
`

// wavesSize is the number of users in the wave.
const wavesSize = 1000

// TestE2EWaves runs a migration wave through a real Postfix: a cutover list file of 1,000
// addresses on hold in a window; mail for three of them (and a bounce for a fourth) is held,
// mail for others flows. One edit (the rules directory swapped) moves their rules to tenant B
// and ends the hold; the README's release command releases that wave's mail, which is
// delivered rewritten to tenant B, and nothing else. A wave file with a bad line is refused as a whole with file:line while
// the generation in service goes on serving.
func TestE2EWaves(t *testing.T) {
	harness.RequirePostfix(t)
	bin := harness.MustBuildEdgerewrite(t)
	dir := e2eDir(t)
	sink := harness.NewSink(t)
	now := time.Now().UTC()
	window := func(end time.Time) string {
		return now.Add(-time.Hour).Format(time.RFC3339) + "," + end.Format(time.RFC3339)
	}

	// Version 1 of the rules directory: every user in tenant A, the wave on hold until
	// tomorrow, and a second wave (one user) on hold as well.
	rulesV1 := filepath.Join(dir, "rules.v1")
	writeRules(t, rulesV1, "tenanta", window(now.Add(24*time.Hour)))
	rulesDir := filepath.Join(dir, "rules")
	if err := os.Symlink("rules.v1", rulesDir); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "waves.toml")
	cfg, err := harness.WriteDaemonConfig(conf, harness.DaemonConfig{RulesDir: rulesDir, LogFormat: "text",
		LogLevel: "info", Extra: wavesPolicy})
	if err != nil {
		t.Fatal(err)
	}
	d := &e2eDaemon{Edgerewrite: harness.NewEdgerewrite(t, bin, conf), Metrics: cfg.MetricsListen, RulesDir: rulesDir}
	pf := harness.NewPostfix(t, harness.PostfixOptions{
		Name:    "e2e-waves",
		RelayTo: sink.Addr(),
		Milters: []string{d.Listen},
		// Released mail comes back through cleanup from pickup: the milter decides it again.
		MainCF: []string{"non_smtpd_milters = " + d.Listen},
		// The README's master.cf lines: mail from sendmail gets its own {daemon_name}.
		MasterCF: []string{"cleanup-pickup unix n - n - 0 cleanup -o milter_macro_daemon_name=pickup"},
	})
	if _, err := pf.Command("postconf", "-P", "pickup/unix/cleanup_service_name=cleanup-pickup"); err != nil {
		t.Fatal(err)
	}
	if _, err := pf.Command("postfix", "reload"); err != nil {
		t.Fatal(err)
	}

	n := 0
	sendFrom := func(t *testing.T, from, rcpt string) (*harness.Result, string) {
		t.Helper()
		n++
		id := fmt.Sprintf("<wave-%d@example.org>", n)
		res, err := harness.Send(pf.Addr(), harness.Envelope{
			LocalAddr: "127.0.0.6", From: from, Rcpts: harness.Rcpts(rcpt),
			Data: harness.BuildMessage([]string{"From: sender@example.org", "To: " + rcpt, "Subject: wave",
				"Date: Mon, 23 Nov 2026 10:00:00 +0000", "Message-ID: " + id}, "wave\n"),
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Err() != nil {
			t.Fatalf("mail for %s refused: %v", rcpt, res.Err())
		}
		return res, id
	}
	send := func(t *testing.T, rcpt string) (*harness.Result, string) {
		t.Helper()
		return sendFrom(t, "sender@example.org", rcpt)
	}
	metric := func(t *testing.T, series string) float64 {
		t.Helper()
		v, _, err := harness.ScrapeMetric(d.Metrics, series)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	// During the wave: three of its users held, one user of no wave delivered to tenant A.
	held := map[string]string{} // queue ID -> Message-ID
	var heldIDs []string
	for _, rcpt := range []string{"user1@contoso.com", "User500+news@contoso.com", "user999@contoso.com"} {
		res, id := send(t, rcpt)
		q := waitHeld(t, pf, res.QueueID, e2eTimeout)
		if len(q.Recipients) != 1 || !strings.EqualFold(q.Recipients[0].Address, rcpt) {
			t.Errorf("held message %+v, want it as it came, for %s", q, rcpt)
		}
		held[res.QueueID] = id
		heldIDs = append(heldIDs, id)
	}
	// A bounce (null sender) for a user of the wave is held too, and released as a bounce.
	bounce, bounceID := sendFrom(t, "", "user7@contoso.com")
	waitHeld(t, pf, bounce.QueueID, e2eTimeout)
	other, otherID := send(t, "late@contoso.com") // the second wave
	waitHeld(t, pf, other.QueueID, e2eTimeout)
	_, id := send(t, "someone@contoso.com")
	e2eWantRcpts(t, e2eWaitMessage(t, sink, id), "someone@tenanta.contoso.com")
	if line := e2eLogLine(t, d, "verdict=hold"); !strings.Contains(line, "wave-07.cutover:") {
		t.Errorf("the log line of a held message does not name its wave entry:\n%s", line)
	}
	if v := metric(t, `edgerewrite_cutover_messages_total{action="hold",file="wave-07.cutover"}`); v != 4 {
		t.Errorf("held messages counted for wave-07.cutover: %v, want 4", v)
	}
	if hdr, err := pf.Command("postcat", "-hq", heldQueueID(held, heldIDs[0])); err != nil ||
		!strings.Contains(string(hdr), "X-Edgerewrite-Hold: wave-07.cutover:4 (cutover-hold: user1@contoso.com)") {
		all, err2 := pf.Command("postcat", "-q", heldQueueID(held, heldIDs[0]))
		t.Errorf("postcat -hq of a held message does not show the wave header (%v):\n%s\npostcat -q (%v):\n%s", err, hdr, err2, all)
	}

	t.Run("a wave file with a bad line is refused and the generation in service serves", func(t *testing.T) {
		rulesBad := filepath.Join(dir, "rules.bad")
		writeRules(t, rulesBad, "tenantb", window(now.Add(-time.Minute)))
		f := filepath.Join(rulesBad, "wave-07.cutover")
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, append(b, "user1000@contoso.com,hodl\n"...), 0o644); err != nil {
			t.Fatal(err)
		}
		swapSymlink(t, rulesDir, "rules.bad")
		if _, err := e2eWaitLog(d, fmt.Sprintf("wave-07.cutover:%d:", wavesSize+3)); err != nil {
			t.Fatalf("the bad line is not named: %v", err)
		}
		res, _ := send(t, "user2@contoso.com")
		waitHeld(t, pf, res.QueueID, e2eTimeout) // still the old generation: on hold
		if got := metric(t, e2eReloadOK); got != 0 {
			t.Errorf("%s = %v after the bad wave file, want 0", e2eReloadOK, got)
		}
		if _, err := pf.Command("postsuper", "-d", res.QueueID); err != nil {
			t.Fatal(err)
		}
	})

	// The switch: one edit moves the wave's rules to tenant B and ends its hold.
	rulesV2 := filepath.Join(dir, "rules.v2")
	writeRules(t, rulesV2, "tenantb", window(now.Add(-time.Minute)))
	swapSymlink(t, rulesDir, "rules.v2")
	deadline := time.Now().Add(e2eTimeout)
	for metric(t, e2eReloadOK) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the switch was not loaded within %s", e2eTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The README's command releases exactly wave-07's held mail.
	out, err := releaseWave(t, pf, "wave-07.cutover")
	if err != nil {
		t.Fatalf("release command: %v\n%s", err, out)
	}
	for i, want := range []string{"user1@tenantb.contoso.com", "user500+news@tenantb.contoso.com", "user999@tenantb.contoso.com"} {
		m := e2eWaitMessage(t, sink, heldIDs[i])
		if got := m.RcptAddrs(); len(got) != 1 || !strings.EqualFold(got[0], want) {
			t.Errorf("released message %s delivered to %v, want %s", heldIDs[i], got, want)
		}
		h, body, err := harness.ParseMessage(m.Data)
		if err != nil || h.Get("Subject") != " wave" || len(h.Values("Message-ID")) != 1 ||
			strings.TrimSpace(string(body)) != "wave" || m.From != "sender@example.org" {
			t.Errorf("released message arrived changed (%v): from <%s>\n%s", err, m.From, m.Data)
		}
	}
	if m := e2eWaitMessage(t, sink, bounceID); m.From != "" || len(m.RcptAddrs()) != 1 || m.RcptAddrs()[0] != "user7@tenantb.contoso.com" {
		t.Errorf("released bounce arrived from <%s> for %v, want from <> for user7@tenantb.contoso.com", m.From, m.RcptAddrs())
	}
	if line := e2eLogLine(t, d, "rewrites=rcpt:user1@contoso.com->user1@tenantb.contoso.com"); !strings.Contains(line, "connector=- ") {
		t.Errorf("released mail was taken for a connector's:\n%s", line)
	}
	waitHeld(t, pf, other.QueueID, e2eTimeout) // the other wave's message stays held
	if e2eCount(sink, otherID) != 0 {
		t.Error("the other wave's held message was released")
	}
	if q, err := pf.Queue(); err != nil || len(q) != 1 || q[0].QueueID != other.QueueID {
		t.Errorf("queue after the release (%v): %+v; want only the other wave's held message", err, q)
	}
	_, id = send(t, "user2@contoso.com")
	e2eWantRcpts(t, e2eWaitMessage(t, sink, id), "user2@tenantb.contoso.com")
}

// writeRules writes a rules directory: every wave user's rule to tenant, wave-07.cutover with
// the wave's users on hold in window ("start,end"), and wave-08.cutover holding late@contoso.com.
func writeRules(t *testing.T, dir, tenant, window string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var rules, wave strings.Builder
	rules.WriteString("someone@tenanta.contoso.com someone@contoso.com\n")
	wave.WriteString("# wave 7, as the migration tool exported it\nmatch,action,start,end,text\n")
	for i := range wavesSize {
		fmt.Fprintf(&rules, "user%d@%s.contoso.com user%d@contoso.com\n", i, tenant, i)
		fmt.Fprintf(&wave, "user%d@contoso.com,hold,%s\n", i, window)
	}
	fmt.Fprintf(&rules, "late@tenanta.contoso.com late@contoso.com\n")
	for name, content := range map[string]string{
		"tenants.rules":   rules.String(),
		"wave-07.cutover": wave.String(),
		"wave-08.cutover": "late@contoso.com,hold\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// swapSymlink points the symlink link at target in one rename, as `ln -sfn` + `mv -T` do.
func swapSymlink(t *testing.T, link, target string) {
	t.Helper()
	tmp := link + ".new"
	if err := os.Symlink(target, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
}

// releaseWave runs the release command of postfix-examples/cutover/README.md for wave against
// the instance (MAIL_CONFIG points the Postfix tools at it). The top-level README must show the
// same command.
func releaseWave(t *testing.T, pf *harness.Postfix, wave string) (string, error) {
	t.Helper()
	command := func(path ...string) string {
		b, err := os.ReadFile(filepath.Join(path...))
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile("(?s)```sh\n(wave=wave-07\\.cutover\n.*?)```").FindSubmatch(b)
		if m == nil {
			t.Fatalf("%s shows no release command starting wave=wave-07.cutover", filepath.Join(path...))
		}
		return string(m[1])
	}
	script := command("..", "postfix-examples", "cutover", "README.md")
	if top := command("..", "README.md"); top != script {
		t.Errorf("README.md and postfix-examples/cutover/README.md show different release commands:\n%s\n%s", top, script)
	}
	script = strings.Replace(script, "wave=wave-07.cutover", "wave="+wave, 1)
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Env = append(os.Environ(), "MAIL_CONFIG="+pf.ConfDir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// heldQueueID is the queue ID of the held message with Message-ID id.
func heldQueueID(held map[string]string, id string) string {
	for q, m := range held {
		if m == id {
			return q
		}
	}
	return ""
}
