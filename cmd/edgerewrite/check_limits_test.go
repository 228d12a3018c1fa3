package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCheckBoundedOutput runs check and test on rules directories an admin (or a broken
// deploy) can produce: each must finish within seconds, exit with a problem, name each bad
// file, and print a bounded number of lines however many problems there are.
func TestCheckBoundedOutput(t *testing.T) {
	dups := strings.Repeat("john@tenanta.contoso.com john@contoso.com\n", 100_000)
	cases := []struct {
		name     string
		setup    func(t *testing.T, rules string)
		want     []string
		maxLines int
	}{
		{
			name: "100k duplicate lines",
			setup: func(t *testing.T, rules string) {
				writeFile(t, filepath.Join(rules, "dup.rules"), dups)
			},
			want:     []string{"dup.rules:2: duplicate internal side", "dup.rules: and 99979 more problems in this file", "edgerewrite check: 99999 problems"},
			maxLines: 25,
		},
		{
			name: "a FIFO and a symlink to /dev/zero",
			setup: func(t *testing.T, rules string) {
				writeFile(t, filepath.Join(rules, "good.rules"), "john@tenanta.contoso.com john@contoso.com\n")
				if err := syscall.Mkfifo(filepath.Join(rules, "x.rules"), 0o644); err != nil {
					t.Skip("no FIFO:", err)
				}
				if err := os.Symlink("/dev/zero", filepath.Join(rules, "zero.csv")); err != nil {
					t.Fatal(err)
				}
			},
			want:     []string{"x.rules: reading the rule file: not a regular file but a FIFO", "zero.csv: reading the rule file: not a regular file but a character device", "edgerewrite check: 2 problems"},
			maxLines: 5,
		},
	}
	for _, tc := range cases {
		for _, cmd := range []string{"check", "test"} {
			t.Run(cmd+" "+tc.name, func(t *testing.T) { runBounded(t, cmd, tc.setup, tc.want, tc.maxLines) })
		}
	}
}

// runBounded runs `edgerewrite CMD` on a rules directory set up by setup and checks that it
// finishes within seconds, fails, names each problem in want (the problem count only for
// check) and prints at most maxLines lines of problems.
func runBounded(t *testing.T, cmd string, setup func(t *testing.T, rules string), want []string, maxLines int) {
	t.Helper()
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	if err := os.Mkdir(rules, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "edgerewrite.toml")
	writeFile(t, cfg, "listen = \"inet:127.0.0.1:9753\"\nrules_dir = \"rules\"\nmetrics_listen = \"\"\n")
	setup(t, rules)
	args := []string{cmd, "-c", cfg}
	if cmd == "test" {
		args = append(args, "--from", "john@tenanta.contoso.com", "--rcpt", "bob@example.net")
		want = want[:len(want)-1] // the last is check's verdict line
	}
	type result struct {
		code     int
		out, err string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errOut := edgerewrite(t, args...)
		done <- result{code, out, errOut}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not finish within 20 s", cmd)
	}
	expect(t, r.code, r.out, r.err, exitProblem, want...)
	if n := strings.Count(r.err, "\n"); n > maxLines {
		t.Errorf("%s printed %d lines on stderr, want at most %d", cmd, n, maxLines)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
