package daemon

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerewrite/edgerewrite/milter/config"
	"github.com/edgerewrite/edgerewrite/policy"
	"github.com/edgerewrite/edgerewrite/rewrite"
)

// logSink is a log sink tests can read while the daemon writes.
type logSink struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// reloadEnv is a config file and rules directory in a temporary directory, a Live on them and
// a running Watcher.
type reloadEnv struct {
	dir, cfgPath, rulesDir string
	live                   *Live
	watcher                *Watcher
	reg                    *prometheus.Registry
	log                    *logSink
	reloads                atomic.Int32
}

const testConfig = "listen = \"inet:127.0.0.1:0\"\nmetrics_listen = \"\"\nrules_dir = \"rules\"\n"

// newReloadEnv writes the config and the rule files (name -> content) and starts watching.
func newReloadEnv(t *testing.T, files map[string]string) *reloadEnv {
	t.Helper()
	e := &reloadEnv{dir: t.TempDir(), log: &logSink{}}
	e.cfgPath = filepath.Join(e.dir, "edgerewrite.toml")
	e.rulesDir = filepath.Join(e.dir, "rules")
	writeTestFile(t, e.cfgPath, testConfig)
	if err := os.Mkdir(e.rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		writeTestFile(t, filepath.Join(e.rulesDir, name), content)
	}
	e.start(t)
	return e
}

func (e *reloadEnv) start(t *testing.T) {
	t.Helper()
	doc, err := os.ReadFile(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.ParseConfig(e.cfgPath, doc)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.reg = prometheus.NewRegistry()
	e.live = NewLive(LiveOptions{Config: cfg, ConfigBytes: doc, Logger: log, Metrics: NewMetrics(e.reg),
		Table: rewrite.NewTable(rewrite.Options{RecipientDelimiter: cfg.Delimiter()})})
	if err := e.live.Reload("start", true); err != nil {
		t.Fatal(err)
	}
	reload := func(reason string) {
		_ = e.live.Reload(reason, reason == reasonSignal)
		e.reloads.Add(1)
	}
	e.watcher, err = NewWatcher(log, 0, reload, ConfigWatchDirs(e.cfgPath, e.rulesDir)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.watcher.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// atomicWrite saves like an editor or `mv` into place: a temporary file renamed over the old.
func atomicWrite(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	writeTestFile(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// rewriteOut is what the rules in service make of addr outbound ("" when no rule matches).
func (e *reloadEnv) rewriteOut(addr string) string {
	out, _, ok := e.live.Generation().Rules.Rewrite(addr, rewrite.Outbound)
	if !ok {
		return ""
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes, and returns how long it took.
func pollUntil(t *testing.T, what string, deadline time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > deadline {
			t.Fatalf("%s: not within %v", what, deadline)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// metric returns the value of a gauge or counter (the sum over label values matching label).
func (e *reloadEnv) metric(t *testing.T, name, label string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var v float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label != "" && !hasLabelValue(m.GetLabel(), label) {
				continue
			}
			v += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return v
}

func hasLabelValue[L interface{ GetValue() string }](labels []L, value string) bool {
	for _, l := range labels {
		if l.GetValue() == value {
			return true
		}
	}
	return false
}

const (
	ruleJohn = "john@tenanta.contoso.com john@contoso.com\n"
	ruleMary = "mary@tenanta.contoso.com mary@contoso.com\n"
)

// TestReloadNewRuleWithinOneSecond writes a new rule file in place: it is in effect once it
// has settled, within a second of that.
func TestReloadNewRuleWithinOneSecond(t *testing.T) {
	e := newReloadEnv(t, map[string]string{"a.rules": ruleJohn})
	if got := e.rewriteOut("john@tenanta.contoso.com"); got != "john@contoso.com" {
		t.Fatalf("initial rules: %q", got)
	}
	start := time.Now()
	writeTestFile(t, filepath.Join(e.rulesDir, "b.rules"), ruleMary)
	pollUntil(t, "new rule in effect", DefaultSettle+time.Second, func() bool {
		return e.rewriteOut("mary@tenanta.contoso.com") == "mary@contoso.com"
	})
	t.Logf("new rule in effect after %v", time.Since(start))
	if v := e.metric(t, "edgerewrite_rules_loaded", ""); v != 2 {
		t.Errorf("rules_loaded = %v, want 2", v)
	}
}

func TestReloadAtomicSave(t *testing.T) {
	e := newReloadEnv(t, map[string]string{"a.rules": ruleJohn})
	atomicWrite(t, filepath.Join(e.rulesDir, "a.rules"), "john@tenanta.contoso.com johnny@contoso.com\n")
	pollUntil(t, "atomically saved rule", time.Second, func() bool {
		return e.rewriteOut("john@tenanta.contoso.com") == "johnny@contoso.com"
	})
	if v := e.metric(t, "edgerewrite_config_last_reload_successful", ""); v != 1 {
		t.Errorf("config_last_reload_successful = %v, want 1", v)
	}
}

func TestReloadBadEditKeepsOldRules(t *testing.T) {
	e := newReloadEnv(t, map[string]string{"a.rules": ruleJohn})
	atomicWrite(t, filepath.Join(e.rulesDir, "a.rules"), ruleMary+"not-a-rule\n"+ruleJohn+"bad@@address x@y\n")
	pollUntil(t, "failed reload recorded", time.Second, func() bool {
		return e.metric(t, "edgerewrite_reloads_total", "failure") >= 1
	})
	if v := e.metric(t, "edgerewrite_config_last_reload_successful", ""); v != 0 {
		t.Errorf("config_last_reload_successful = %v after a bad edit, want 0", v)
	}
	if got := e.rewriteOut("john@tenanta.contoso.com"); got != "john@contoso.com" {
		t.Errorf("old rule no longer serves: %q", got)
	}
	if got := e.rewriteOut("mary@tenanta.contoso.com"); got != "" {
		t.Errorf("a rule of the rejected file is in service: %q", got)
	}
	logs := e.log.String()
	for _, want := range []string{"a.rules:2:", "a.rules:4:"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log does not name %s:\n%s", want, logs)
		}
	}
	// Fixing the file brings success back.
	atomicWrite(t, filepath.Join(e.rulesDir, "a.rules"), ruleMary+ruleJohn)
	pollUntil(t, "fixed rules", time.Second, func() bool {
		return e.rewriteOut("mary@tenanta.contoso.com") == "mary@contoso.com"
	})
	if v := e.metric(t, "edgerewrite_config_last_reload_successful", ""); v != 1 {
		t.Errorf("config_last_reload_successful = %v after the fix, want 1", v)
	}
}

// configMapSwap lays out or updates dir as the kubelet does for a ConfigMap volume: the content
// goes into a new "..TIMESTAMP" directory, "..data_tmp" -> it is renamed over "..data", each
// file is a symlink "name -> ..data/name", and the old directory is removed.
func configMapSwap(t *testing.T, dir, version string, files map[string]string) {
	t.Helper()
	ts := "..2026_11_23_" + version
	if err := os.MkdirAll(filepath.Join(dir, ts), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		writeTestFile(t, filepath.Join(dir, ts, name), content)
	}
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(ts, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	for name := range files {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); err != nil {
			if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
				t.Fatal(err)
			}
		}
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(dir, old)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReloadConfigMapSymlinkSwap(t *testing.T) {
	e := newReloadEnv(t, nil)
	configMapSwap(t, e.rulesDir, "1", map[string]string{"a.rules": ruleJohn})
	pollUntil(t, "first ConfigMap version", time.Second, func() bool {
		return e.rewriteOut("john@tenanta.contoso.com") == "john@contoso.com"
	})
	configMapSwap(t, e.rulesDir, "2", map[string]string{"a.rules": "john@tenanta.contoso.com johnny@contoso.com\n" + ruleMary})
	pollUntil(t, "swapped ConfigMap version", time.Second, func() bool {
		return e.rewriteOut("john@tenanta.contoso.com") == "johnny@contoso.com" &&
			e.rewriteOut("mary@tenanta.contoso.com") == "mary@contoso.com"
	})
}

func TestReloadConfigFileSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	if err := os.Mkdir(rules, 0o755); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(rules, "a.rules"), ruleJohn)
	cfgDir := filepath.Join(dir, "config")
	if err := os.Mkdir(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfgBody := func(extra string) string {
		return "listen = \"inet:127.0.0.1:0\"\nmetrics_listen = \"\"\nrules_dir = \"" + rules + "\"\n" + extra
	}
	configMapSwap(t, cfgDir, "1", map[string]string{"edgerewrite.toml": cfgBody("")})
	e := &reloadEnv{dir: dir, cfgPath: filepath.Join(cfgDir, "edgerewrite.toml"), rulesDir: rules, log: &logSink{}}
	e.start(t)
	if !e.live.Generation().Config.OutboundToCc() {
		t.Fatal("rewrite_outbound_to_cc should start true")
	}
	configMapSwap(t, cfgDir, "2", map[string]string{"edgerewrite.toml": cfgBody("rewrite_outbound_to_cc = false\nlisten_typo = 1\n")})
	pollUntil(t, "bad config rejected", time.Second, func() bool {
		return e.metric(t, "edgerewrite_reloads_total", "failure") >= 1
	})
	if !e.live.Generation().Config.OutboundToCc() || !strings.Contains(e.log.String(), `edgerewrite.toml:5: unknown key \"listen_typo\"`) {
		t.Errorf("a bad config was not refused with file:line:\n%s", e.log.String())
	}
	configMapSwap(t, cfgDir, "3", map[string]string{"edgerewrite.toml": cfgBody("rewrite_outbound_to_cc = false\n")})
	pollUntil(t, "new config in service", time.Second, func() bool { return !e.live.Generation().Config.OutboundToCc() })
}

func TestReloadRapidEditsDebounced(t *testing.T) {
	e := newReloadEnv(t, map[string]string{"a.rules": ruleJohn})
	before := e.reloads.Load()
	path := filepath.Join(e.rulesDir, "a.rules")
	for i := range 20 {
		writeTestFile(t, path, fmt.Sprintf("john@tenanta.contoso.com john%02d@contoso.com\n", i))
		time.Sleep(5 * time.Millisecond)
	}
	pollUntil(t, "last edit in service", time.Second, func() bool {
		return e.rewriteOut("john@tenanta.contoso.com") == "john19@contoso.com"
	})
	time.Sleep(2 * DefaultDebounce)
	if n := e.reloads.Load() - before; n < 1 || n > 3 {
		t.Errorf("20 rapid edits caused %d reloads, want 1 (debounced)", n)
	}
}

func TestReloadFileBrieflyMissing(t *testing.T) {
	e := newReloadEnv(t, map[string]string{"a.rules": ruleJohn})
	path := filepath.Join(e.rulesDir, "a.rules")
	var emptied atomic.Bool
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() { // the rule must serve at every moment
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if e.rewriteOut("john@tenanta.contoso.com") != "john@contoso.com" {
				emptied.Store(true)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	// A delete-then-create editor save.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	writeTestFile(t, path, ruleJohn+ruleMary)
	pollUntil(t, "recreated file in service", time.Second, func() bool {
		return e.rewriteOut("mary@tenanta.contoso.com") == "mary@contoso.com"
	})
	close(stop)
	<-watched
	if emptied.Load() {
		t.Error("the rule stopped serving while its file was briefly missing")
	}

	// The last rule file removed for good: the table refuses to empty itself.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, "failed reload recorded", time.Second, func() bool {
		return e.metric(t, "edgerewrite_config_last_reload_successful", "") == 0
	})
	if got := e.rewriteOut("john@tenanta.contoso.com"); got != "john@contoso.com" {
		t.Errorf("the rules stopped serving when the directory emptied: %q", got)
	}
}

func TestReloadTriggerAndFilters(t *testing.T) {
	e := newReloadEnv(t, map[string]string{"a.rules": ruleJohn})
	before := e.reloads.Load()
	e.watcher.Trigger(reasonSignal)
	pollUntil(t, "SIGHUP reload", time.Second, func() bool { return e.reloads.Load() > before })

	// Other files beside the config are no reason to reload.
	before = e.reloads.Load()
	writeTestFile(t, filepath.Join(e.dir, "notes.txt"), "not ours")
	time.Sleep(3 * DefaultDebounce)
	if n := e.reloads.Load() - before; n != 0 {
		t.Errorf("a file beside the config caused %d reloads", n)
	}
}

func TestReloadRestartOnlySettings(t *testing.T) {
	e := newReloadEnv(t, map[string]string{"a.rules": ruleJohn})
	atomicWrite(t, e.cfgPath, strings.Replace(testConfig, "inet:127.0.0.1:0", "inet:127.0.0.1:9999", 1)+"log_level = \"debug\"\n")
	pollUntil(t, "config reloaded", time.Second, func() bool { return e.live.Generation().Config.LogLevel == "debug" })
	if got := e.live.Generation().Config.Listen; got != "inet:127.0.0.1:0" {
		t.Errorf("listen changed live to %q", got)
	}
	if !strings.Contains(e.log.String(), "takes effect at the next restart") {
		t.Errorf("no restart notice in the log:\n%s", e.log.String())
	}
}

// A rules directory that is itself a symlink swapped to a new directory (a deploy that
// unpacks each release beside the last): the swap is seen, and so are later edits in the new
// directory.
func TestReloadRulesDirSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []string{"rules.v1", "rules.v2"} {
		if err := os.Mkdir(filepath.Join(dir, v), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeTestFile(t, filepath.Join(dir, "rules.v1", "a.rules"), ruleJohn)
	writeTestFile(t, filepath.Join(dir, "rules.v2", "a.rules"), "john@tenanta.contoso.com johnny@contoso.com\n")
	if err := os.Symlink("rules.v1", filepath.Join(dir, "rules")); err != nil {
		t.Fatal(err)
	}
	e := &reloadEnv{dir: dir, cfgPath: filepath.Join(dir, "edgerewrite.toml"), rulesDir: filepath.Join(dir, "rules"), log: &logSink{}}
	writeTestFile(t, e.cfgPath, testConfig)
	e.start(t)
	if got := e.rewriteOut("john@tenanta.contoso.com"); got != "john@contoso.com" {
		t.Fatalf("initial rules: %q", got)
	}
	if err := os.Symlink("rules.v2", filepath.Join(dir, "rules.tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "rules.tmp"), filepath.Join(dir, "rules")); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, "swapped rules directory", time.Second, func() bool {
		return e.rewriteOut("john@tenanta.contoso.com") == "johnny@contoso.com"
	})
	writeTestFile(t, filepath.Join(dir, "rules.v2", "b.rules"), ruleMary)
	pollUntil(t, "edit in the new rules directory", time.Second, func() bool {
		return e.rewriteOut("mary@tenanta.contoso.com") == "mary@contoso.com"
	})
}

// TestReloadConfigAndBrokenRulesKeepTheWholeGeneration: a valid config edit made together with a
// broken rule file puts neither in service. The config that would refuse unresolved recipients
// of contoso.com is not served while its rules are rejected, the gauge says so, and fixing the
// rule file brings both in at once.
func TestReloadConfigAndBrokenRulesKeepTheWholeGeneration(t *testing.T) {
	e := newReloadEnv(t, map[string]string{"a.rules": ruleJohn})
	before := e.live.Generation()
	orgConfig := testConfig + "[organization]\ndomains = [\"contoso.com\"]\n"
	atomicWrite(t, e.cfgPath, orgConfig)
	pollUntil(t, "config without rules change", time.Second, func() bool {
		return e.live.Generation().Seq > before.Seq
	})
	before = e.live.Generation()

	// The deploy: a [[domain]] that refuses unresolved recipients, and its rules, broken.
	start := e.reloads.Load()
	atomicWrite(t, filepath.Join(e.rulesDir, "a.rules"), ruleJohn+ruleMary+"mary@tenanta.contoso.com\n")
	atomicWrite(t, e.cfgPath, orgConfig+"[[domain]]\nname = \"contoso.com\"\nunresolved = \"reject\"\n")
	pollUntil(t, "failed reload of both edits", 2*time.Second, func() bool {
		return e.reloads.Load() > start && e.metric(t, "edgerewrite_config_last_reload_successful", "") == 0
	})
	// Wait until the watcher has seen both files, then check the generation did not move.
	time.Sleep(300 * time.Millisecond)
	if g := e.live.Generation(); g != before {
		t.Fatalf("generation %d in service after a failed reload, want %d unchanged", g.Seq, before.Seq)
	}
	cl := before.Policy.Classify(policy.Conn{})
	if r := e.live.Generation().Policy.Recipient(cl, "mary@contoso.com", false, time.Now()); r.Verdict.Action != policy.Accept {
		t.Errorf("an unresolved recipient gets %v from the generation in service, want accept as before", r.Verdict)
	}
	if !strings.Contains(e.log.String(), "a.rules:3:") {
		t.Errorf("the log does not name the broken line:\n%s", e.log.String())
	}

	// Fixing the rule file brings the new config and the rules in together.
	atomicWrite(t, filepath.Join(e.rulesDir, "a.rules"), ruleJohn+ruleMary)
	pollUntil(t, "fixed generation", 2*time.Second, func() bool { return e.live.Generation() != before })
	g := e.live.Generation()
	if got, _, _ := g.Rules.Rewrite("mary@tenanta.contoso.com", rewrite.Outbound); got != "mary@contoso.com" {
		t.Errorf("rules of the new generation: mary -> %q", got)
	}
	if r := g.Policy.Recipient(cl, "nobody@contoso.com", false, time.Now()); r.Verdict.Action != policy.Reject {
		t.Errorf("config of the new generation: unresolved recipient gets %v, want reject", r.Verdict)
	}
	if v := e.metric(t, "edgerewrite_config_last_reload_successful", ""); v != 1 {
		t.Errorf("config_last_reload_successful = %v after the fix, want 1", v)
	}
}
