package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// TestDemo runs the whole demo in-process, so that `make test` catches a broken demo (an
// example folder that changed under it, a sample that no longer behaves). It needs root and
// Postfix; it is skipped without them unless EDGEREWRITE_REQUIRE_POSTFIX=1.
func TestDemo(t *testing.T) {
	harness.RequirePostfix(t)
	bin := harness.MustBuildEdgerewrite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	start := time.Now()
	err := run(ctx, &out, bin)
	t.Logf("demo output (%s):\n%s", time.Since(start).Round(time.Millisecond), out.String())
	if err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"7 sent, 5 delivered as expected, 2 refused as expected", "ATTENDEE;PARTSTAT=ACCEPTED;CN=John Smith:mailto:john@contoso.com", "Torn down:"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(text, "\x1b[") {
		t.Error("colour codes in output that is not a terminal")
	}
	// The teardown line names the directories it removed; they must be gone.
	for _, d := range regexp.MustCompile(`/\S*edgerewrite-demo-[0-9]+`).FindAllString(text, -1) {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s is left behind", d)
		}
	}
}

// TestDemoCancelled shows that a cancelled demo (Ctrl-C) stops at once and still tears down.
func TestDemoCancelled(t *testing.T) {
	harness.RequirePostfix(t)
	bin := harness.MustBuildEdgerewrite(t)
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "edgerewrite-demo-*"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, bin); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("run with a cancelled context: %v, want context.Canceled", err)
	}
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "edgerewrite-demo-*"))
	for _, d := range after {
		if !contains(before, d) {
			t.Errorf("%s is left behind", d)
		}
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// TestExampleOptions reads the two-tenants folder as the demo does, without Postfix: every
// listener becomes a service named as in production, every map it names is found, and no
// production path is left.
func TestExampleOptions(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	x, err := loadExample(root, &harness.CA{Dir: "/TLS", CertFile: "/TLS/ca.crt"},
		map[string]string{"tenanta": "[localhost]:1", "tenantb": "[localhost]:2"})
	if err != nil {
		t.Fatal(err)
	}
	po, listeners := x.Postfix, x.Listeners
	for prod, name := range map[string]string{publicMX: "mx1.contoso.com", connectorA: "from-tenanta", connectorB: "from-tenantb"} {
		if listeners[prod] != name {
			t.Errorf("listener %s is service %q, want %q", prod, listeners[prod], name)
		}
	}
	var maps []string
	for _, m := range po.Maps {
		maps = append(maps, m.Type+":"+m.Name)
		if m.Name == "transport" && !strings.Contains(strings.Join(m.Lines, "\n"), "tenanta:[localhost]:1") {
			t.Errorf("transport next hops not substituted:\n%s", strings.Join(m.Lines, "\n"))
		}
	}
	for _, want := range []string{"hash:transport", "cidr:exchange-online.cidr"} {
		if !contains(maps, want) {
			t.Errorf("maps %v lack %s", maps, want)
		}
	}
	all := strings.Join(po.MainCF, "\n") + strings.Join(po.MasterCF, "\n")
	for _, s := range append([]harness.Service{po.SMTPD}, po.Services...) {
		all += strings.Join(s.Args, "\n")
	}
	if strings.Contains(all, "/etc/postfix/") || strings.Contains(all, "203.0.113.") {
		t.Errorf("a production path or address is left:\n%s", all)
	}
}

func TestWrap(t *testing.T) {
	for _, c := range []struct {
		in    string
		width int
		want  []string
	}{
		{"short", 10, []string{"short"}},
		{"451 4.7.1 one two three", 12, []string{"451 4.7.1", "one two", "three"}},
		{"unbreakable-word-longer", 5, []string{"unbreakable-word-longer"}},
	} {
		if got := wrap(c.in, c.width); strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("wrap(%q, %d) = %q, want %q", c.in, c.width, got, c.want)
		}
	}
}
