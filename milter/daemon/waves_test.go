package daemon

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/milter/config"
	"github.com/edgerewrite/edgerewrite/policy"
	"github.com/edgerewrite/edgerewrite/rewrite"
)

// newWaveLive is a Live on a config and rules directory in a temporary directory, without a
// watcher: the test reloads when it has made its edit.
func newWaveLive(t *testing.T, files map[string]string) (*Live, string, *logSink) {
	t.Helper()
	dir := t.TempDir()
	cfgPath, rulesDir := filepath.Join(dir, "edgerewrite.toml"), filepath.Join(dir, "rules")
	doc := testConfig + "recipient_delimiter = \"+\"\n[organization]\ndomains = [\"contoso.com\"]\n"
	writeTestFile(t, cfgPath, doc)
	if err := os.Mkdir(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		writeTestFile(t, filepath.Join(rulesDir, name), content)
	}
	cfg, err := config.ParseConfig(cfgPath, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	sink := &logSink{}
	l := NewLive(LiveOptions{Config: cfg, ConfigBytes: []byte(doc), Logger: slog.New(slog.NewTextHandler(sink, nil)),
		Table: rewrite.NewTable(rewrite.Options{RecipientDelimiter: cfg.Delimiter()})})
	if err := l.Reload("start", true); err != nil {
		t.Fatal(err)
	}
	return l, rulesDir, sink
}

// inboundVerdict is what the generation in service does with mail from the Internet for rcpt:
// the message verdict and where the recipient goes.
func inboundVerdict(t *testing.T, l *Live, rcpt string, now time.Time) (policy.Verdict, string) {
	t.Helper()
	g := l.Generation()
	cl := g.Policy.Classify(policy.Conn{})
	to, _, _ := g.Rules.Rewrite(rcpt, rewrite.Inbound)
	if r := g.Policy.Recipient(cl, rcpt, to != rcpt, now); r.Verdict.Action != policy.Accept {
		return r.Verdict, to
	}
	return g.Policy.Message(cl, policy.Message{From: "x@example.org", Rcpts: []string{rcpt}}, now).Verdict, to
}

const (
	johnToA  = "john@tenanta.contoso.com john@contoso.com\nmary@tenanta.contoso.com mary@contoso.com\n"
	johnToB  = "john@tenantb.contoso.com john@contoso.com\nmary@tenanta.contoso.com mary@contoso.com\n"
	waveJohn = "match,action,start,end,text\nJohn@Contoso.com,hold\n"
)

// TestReloadWaveSwitchIsOneGeneration: the rule switch of a wave's users and the end of their
// hold are edits of two files, and one reload puts both in service together.
func TestReloadWaveSwitchIsOneGeneration(t *testing.T) {
	l, rulesDir, _ := newWaveLive(t, map[string]string{"tenants.rules": johnToA, "wave-01.cutover": waveJohn})
	now := time.Now()
	v, to := inboundVerdict(t, l, "john+news@contoso.com", now)
	if v.Action != policy.Hold || v.Source != "wave-01.cutover:2" || to != "john+news@tenanta.contoso.com" {
		t.Fatalf("during the wave: %v from %q, to %s", v, v.Source, to)
	}
	if v, _ := inboundVerdict(t, l, "mary@contoso.com", now); v.Action != policy.Accept {
		t.Errorf("mary is in no wave but gets %v", v)
	}
	before := l.Generation()

	writeTestFile(t, filepath.Join(rulesDir, "tenants.rules"), johnToB)
	writeTestFile(t, filepath.Join(rulesDir, "wave-01.cutover"), "match,action,start,end,text\n")
	if err := l.Reload("test", true); err != nil {
		t.Fatal(err)
	}
	if l.Generation().Seq != before.Seq+1 {
		t.Fatalf("generation %d, want %d: both edits in one reload", l.Generation().Seq, before.Seq+1)
	}
	if v, to := inboundVerdict(t, l, "john@contoso.com", now); v.Action != policy.Accept || to != "john@tenantb.contoso.com" {
		t.Errorf("after the wave: %v, to %s; want accepted for tenant B", v, to)
	}
}

// TestReloadBadWaveLineKeepsGeneration: one bad line refuses the wave file, the rule edit made
// with it and the whole reload; the generation in service stays and the log names file:line.
func TestReloadBadWaveLineKeepsGeneration(t *testing.T) {
	l, rulesDir, sink := newWaveLive(t, map[string]string{"tenants.rules": johnToA, "wave-01.cutover": waveJohn})
	before := l.Generation()
	writeTestFile(t, filepath.Join(rulesDir, "tenants.rules"), johnToB)
	writeTestFile(t, filepath.Join(rulesDir, "wave-01.cutover"), waveJohn+"mary@contoso.com,hodl\n")
	err := l.Reload("test", true)
	var fe *policy.FileError
	if !errors.As(err, &fe) || fe.Line != 3 || !strings.HasSuffix(fe.File, "wave-01.cutover") {
		t.Fatalf("reload error %v, want wave-01.cutover:3", err)
	}
	if l.Generation() != before {
		t.Fatal("a new generation is in service after a refused wave file")
	}
	if v, to := inboundVerdict(t, l, "john@contoso.com", time.Now()); v.Action != policy.Hold || to != "john@tenanta.contoso.com" {
		t.Errorf("the old generation does not serve: %v, to %s", v, to)
	}
	if !strings.Contains(sink.String(), "wave-01.cutover:3:") {
		t.Errorf("log does not name the bad line:\n%s", sink.String())
	}
}

// TestReloadUnchangedWavesKeepPolicy: a reload that changes only rules reuses the policy (the
// wave files are neither parsed nor indexed again).
func TestReloadUnchangedWavesKeepPolicy(t *testing.T) {
	l, rulesDir, _ := newWaveLive(t, map[string]string{"tenants.rules": johnToA, "wave-01.cutover": waveJohn})
	before := l.Generation()
	writeTestFile(t, filepath.Join(rulesDir, "tenants.rules"), johnToB)
	if err := l.Reload("test", true); err != nil {
		t.Fatal(err)
	}
	if g := l.Generation(); g == before || g.Policy != before.Policy || !g.Waves.Same(before.Waves) {
		t.Error("a rules-only reload built the policy and waves again")
	}
}

// TestWatchWaveAndRulesEditedTogether: a rule file and a wave file written one after the other,
// as a deploy copies them, are read by one reload.
func TestWatchWaveAndRulesEditedTogether(t *testing.T) {
	e := newReloadEnv(t, map[string]string{"tenants.rules": johnToA, "wave-01.cutover": waveJohn})
	before := e.live.Generation()
	if v := before.Policy.Message(policy.Class{}, policy.Message{Rcpts: []string{"john@contoso.com"}}, time.Now()).Verdict; v.Action != policy.Hold {
		t.Fatalf("during the wave: %v", v)
	}
	atomicWrite(t, filepath.Join(e.rulesDir, "tenants.rules"), johnToB)
	atomicWrite(t, filepath.Join(e.rulesDir, "wave-01.cutover"), "match,action\n")
	pollUntil(t, "the switch in service", 2*time.Second, func() bool { return e.live.Generation() != before })
	time.Sleep(2 * DefaultDebounce) // a second reload, if any, would have run by now
	g := e.live.Generation()
	if g.Seq != before.Seq+1 {
		t.Errorf("generation %d, want %d: the two files were read by more than one reload", g.Seq, before.Seq+1)
	}
	if v := g.Policy.Message(policy.Class{}, policy.Message{Rcpts: []string{"john@contoso.com"}}, time.Now()).Verdict; v.Action != policy.Accept {
		t.Errorf("after the switch: %v", v)
	}
	if got, _, _ := g.Rules.Rewrite("john@contoso.com", rewrite.Inbound); got != "john@tenantb.contoso.com" {
		t.Errorf("after the switch john@contoso.com goes to %s", got)
	}
}

// TestWavesInPolicyFingerprint: the policy fingerprint a fleet compares covers the wave files;
// without any it is the config's.
func TestWavesInPolicyFingerprint(t *testing.T) {
	l, rulesDir, _ := newWaveLive(t, map[string]string{"tenants.rules": johnToA})
	g := l.Generation()
	if got, want := g.PolicyFingerprint(), g.Config.PolicyFingerprint(); got != want {
		t.Errorf("without waves: %s, want the config's %s", got, want)
	}
	before := g.PolicyFingerprint()
	writeTestFile(t, filepath.Join(rulesDir, "wave-01.cutover"), waveJohn)
	if err := l.Reload("test", true); err != nil {
		t.Fatal(err)
	}
	if got := l.Status().PolicyFingerprint; got == before || got != l.Generation().PolicyFingerprint() {
		t.Errorf("with a wave file: status shows %s (before %s)", got, before)
	}
}
