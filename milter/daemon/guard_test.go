package daemon

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/milter/config"
	"github.com/edgerewrite/edgerewrite/milter/decide"
	"github.com/edgerewrite/edgerewrite/rewrite"
)

const guardPolicy = `
[organization]
domains = ["contoso.com", "fabrikam.com"]

[[connector]]
name = "tenant-a"
tenant = "tenant-a"
daemon_names = ["smtpd-tenant-a"]

[[tenant]]
name = "tenant-a"
sender_domains = ["tenanta.contoso.com"]
`

// guardGen builds a generation from a config document and rule files in a fresh directory.
func guardGen(t *testing.T, doc string, files map[string]string) *decide.Generation {
	t.Helper()
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	if err := mkdir(rules); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		writeTestFile(t, filepath.Join(rules, name), content)
	}
	cfg, err := config.ParseConfig(filepath.Join(dir, "edgerewrite.toml"), []byte("rules_dir = \"rules\"\n"+doc))
	if err != nil {
		t.Fatal(err)
	}
	table := rewrite.NewTable(rewrite.Options{RecipientDelimiter: "+"})
	if _, err := table.Load(cfg.RulesDir); err != nil {
		t.Fatal(err)
	}
	return decide.NewGeneration(1, cfg, table.Snapshot())
}

func numberedRules(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("user" + itoa(i) + "@tenanta.contoso.com user" + itoa(i) + "@contoso.com\n")
	}
	return b.String()
}

func TestLosses(t *testing.T) {
	cur := guardGen(t, guardPolicy, map[string]string{"users.rules": numberedRules(100), "vip.rules": ruleJohn})
	tests := []struct {
		name  string
		doc   string
		files map[string]string
		want  []string
	}{
		{"an edit that adds", guardPolicy, map[string]string{"users.rules": numberedRules(120), "vip.rules": ruleJohn}, nil},
		{"a few rules removed", guardPolicy, map[string]string{"users.rules": numberedRules(95), "vip.rules": ruleJohn}, nil},
		{"truncated", guardPolicy, map[string]string{"users.rules": numberedRules(10), "vip.rules": ruleJohn},
			[]string{"90 of the 101 rules in service (89%, more than reload_guard_share 10%)"}},
		{"a larger share allowed", "reload_guard_share = 0.95\n" + guardPolicy,
			map[string]string{"users.rules": numberedRules(10), "vip.rules": ruleJohn}, nil},
		{"a file removed", guardPolicy, map[string]string{"users.rules": numberedRules(100)},
			[]string{"every rule of vip.rules (1)"}},
		{"a connector, its tenant and a domain dropped",
			strings.Replace(strings.Split(guardPolicy, "[[connector]]")[0], `, "fabrikam.com"`, "", 1),
			map[string]string{"users.rules": numberedRules(100), "vip.rules": ruleJohn},
			[]string{"organisation domain fabrikam.com", "organisation domain tenanta.contoso.com", "connector tenant-a", "tenant tenant-a"}},
		{"no organisation domain left", "", map[string]string{"users.rules": numberedRules(100), "vip.rules": ruleJohn},
			[]string{"organisation domain contoso.com", "organisation domain fabrikam.com", "organisation domain tenanta.contoso.com",
				"connector tenant-a", "tenant tenant-a", "every organisation domain: relay protection would refuse all Internet mail"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next := guardGen(t, tc.doc, tc.files)
			// Losses compare per file path: give the next generation the same file names.
			stats := next.Rules.Stats()
			byFile := map[string]int{}
			for f, n := range stats.ByFile {
				byFile[filepath.Join(filepath.Dir(firstKey(cur.Rules.Stats().ByFile)), filepath.Base(f))] = n
			}
			stats.ByFile = byFile
			if got := losses(cur, next.Config, stats); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("losses:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func firstKey(m map[string]int) string {
	for k := range m {
		return k
	}
	return ""
}

// TestReloadGuardHoldsUntilSIGHUP: through the watcher, a truncated rule file is held (the old
// rules serve, the metric says so), a later harmless edit does not apply it, and SIGHUP does.
func TestReloadGuardHoldsUntilSIGHUP(t *testing.T) {
	e := newReloadEnv(t, map[string]string{"users.rules": numberedRules(200)})
	writeTestFile(t, filepath.Join(e.rulesDir, "users.rules"), numberedRules(10))
	pollUntil(t, "held", 2*time.Second, func() bool { return e.metric(t, "edgerewrite_reload_held", "") == 1 })
	if got := e.rewriteOut("user150@tenanta.contoso.com"); got != "user150@contoso.com" {
		t.Errorf("while held: %q, want the old rules serving", got)
	}
	if h := e.live.Held(); len(h) != 1 || !strings.HasPrefix(h[0], "190 of the 200 rules") {
		t.Errorf("Held() = %q", h)
	}
	e.watcher.Trigger(reasonSignal)
	pollUntil(t, "confirmed", 2*time.Second, func() bool { return e.metric(t, "edgerewrite_reload_held", "") == 0 })
	if got := e.rewriteOut("user150@tenanta.contoso.com"); got != "" {
		t.Errorf("after SIGHUP: %q, want the truncated rules in service", got)
	}
	if got := e.rewriteOut("user5@tenanta.contoso.com"); got != "user5@contoso.com" {
		t.Errorf("after SIGHUP: user5 -> %q", got)
	}
}

func mkdir(p string) error { return os.Mkdir(p, 0o755) }

func itoa(i int) string { return strconv.Itoa(i) }
