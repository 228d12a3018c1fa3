package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// edgerewrite runs the command line in-process and returns exit code, stdout and stderr.
func edgerewrite(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// expect checks an exit code and that each want is in the output (stdout then stderr).
func expect(t *testing.T, code int, out, errOut string, wantCode int, wants ...string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, wantCode, out, errOut)
	}
	all := out + "\n" + errOut
	for _, w := range wants {
		if !strings.Contains(all, w) {
			t.Errorf("output lacks %q\nstdout:\n%s\nstderr:\n%s", w, out, errOut)
		}
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"help"}, exitOK, "edgerewrite check   [-c CONFIG]"},
		{[]string{"help"}, exitOK, "64  bad command line"},
		{[]string{"help", "test"}, exitOK, "-cert-subject CN"},
		{[]string{"help", "check"}, exitOK, "Validate the config and every rule file."},
		{[]string{"--help"}, exitOK, "Usage:"},
		{nil, exitUsage, "Usage:"},
		{[]string{"frobnicate"}, exitUsage, `no command "frobnicate"`},
		{[]string{"help", "frobnicate"}, exitUsage, `no command "frobnicate"`},
		{[]string{"check", "-x"}, exitUsage, "flag provided but not defined: -x"},
		{[]string{"check", "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"test", "-h"}, exitOK, "Exit codes: 0 the message would be accepted"},
		{[]string{"version"}, exitOK, "edgerewrite dev ("},
	}
	for _, tt := range tests {
		code, out, errOut := edgerewrite(t, tt.args...)
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) { expect(t, code, out, errOut, tt.code, tt.want) })
	}
}

func TestCheck(t *testing.T) {
	t.Run("ok", func(t *testing.T) {
		code, out, errOut := edgerewrite(t, "check", "-c", "testdata/ok/edgerewrite.toml")
		expect(t, code, out, errOut, exitOK,
			"rules testdata/ok/rules: 4 rules in 2 files",
			"by kind: address 3, domain 0, wildcard 1",
			"contoso.rules                            3",
			"exchange.csv                             1",
			"connectors (2): tenant-a -> tenant tenant-a, tenant-b -> tenant tenant-b",
			"tenants (2): tenant-a [tenanta.contoso.com]",
			"shared domains (1): contoso.com unresolved reject",
			"cutovers (2): fabrikam.com defer [2026-11-23T20:00:00Z, 2026-11-24T08:00:00Z), litware.com hold",
			"edgerewrite check: OK")
		if errOut != "" {
			t.Errorf("stderr not empty: %s", errOut)
		}
	})
	t.Run("broken rules", func(t *testing.T) {
		code, out, errOut := edgerewrite(t, "check", "-c", "testdata/badrules/edgerewrite.toml")
		expect(t, code, out, errOut, exitProblem,
			"testdata/badrules/rules/a.rules:2: ",
			"testdata/badrules/rules/a.rules:3: ",
			"testdata/badrules/rules/a.rules:4: ",
			"testdata/badrules/rules/b.csv:2: ",
			"testdata/badrules/rules/b.csv:3: ",
			"edgerewrite check: 5 problems")
		if strings.Contains(out, "OK") {
			t.Errorf("a failed check says OK:\n%s", out)
		}
	})
	t.Run("unknown keys", func(t *testing.T) {
		code, out, errOut := edgerewrite(t, "check", "-c", "testdata/unknownkey/edgerewrite.toml")
		expect(t, code, out, errOut, exitProblem,
			`testdata/unknownkey/edgerewrite.toml:3: unknown key "listen_addr"`,
			`testdata/unknownkey/edgerewrite.toml:7: unknown key "tenant.sender_domain"`,
			"edgerewrite check: 2 problems")
	})
	t.Run("missing config", func(t *testing.T) {
		code, out, errOut := edgerewrite(t, "check", "-c", "testdata/nope.toml")
		expect(t, code, out, errOut, exitProblem, "testdata/nope.toml: reading config:", "edgerewrite check: 1 problem")
	})
}

// TestCheckShippedExample checks the config and rules the packages install, as `check` runs
// before every start of the packaged service: as shipped, and with every commented-out
// example rule in effect.
func TestCheckShippedExample(t *testing.T) {
	doc, err := os.ReadFile("../../packaging/edgerewrite.toml")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := filepath.Abs("../../packaging/rules")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := regexp.MustCompile(`(?m)^#rules_dir = .*$`).ReplaceAllString(string(doc), `rules_dir = "`+rules+`"`)
	s = regexp.MustCompile(`(?m)^#listen = .*$`).ReplaceAllString(s, `listen = "unix:`+filepath.Join(dir, "s.sock")+`"`)
	cfg := filepath.Join(dir, "edgerewrite.toml")
	if err := os.WriteFile(cfg, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := edgerewrite(t, "check", "-c", cfg)
	expect(t, code, out, errOut, exitOK, "0 rules in", "warning: no rules", "edgerewrite check: OK")

	// The examples in example.rules, uncommented, are valid rules.
	ex, err := os.ReadFile(filepath.Join(rules, "example.rules"))
	if err != nil {
		t.Fatal(err)
	}
	rdir := filepath.Join(dir, "rules")
	if err := os.Mkdir(rdir, 0o755); err != nil {
		t.Fatal(err)
	}
	live := regexp.MustCompile(`(?m)^#([^\s#])`).ReplaceAllString(string(ex), "$1")
	if err := os.WriteFile(filepath.Join(rdir, "example.rules"), []byte(live), 0o644); err != nil {
		t.Fatal(err)
	}
	s = strings.Replace(s, `rules_dir = "`+rules+`"`, `rules_dir = "`+rdir+`"`, 1)
	if err := os.WriteFile(cfg, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = edgerewrite(t, "check", "-c", cfg)
	expect(t, code, out, errOut, exitOK, "4 rules in 1 file", "by kind: address 2, domain 1, wildcard 1")
}
