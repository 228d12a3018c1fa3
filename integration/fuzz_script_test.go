package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestFuzzScript runs integration/fuzz.sh (make fuzz, make fuzz-short) with a stand-in for the
// go command that prints a recorded go test output: only the fuzzing coordinator's bare
// end-of-time report may pass as a failure that found nothing.
func TestFuzzScript(t *testing.T) {
	tests := []struct {
		out      string
		exitCode int // of the stand-in go test
		pass     bool
	}{
		{"pass.out", 0, true},
		{"deadline-only.out", 1, true},
		{"finding.out", 1, false},
		{"seed.out", 1, false},
		{"hung.out", 1, false},
		{"other-target.out", 1, false}, // the report names another target
	}
	for _, tt := range tests {
		t.Run(tt.out, func(t *testing.T) {
			recorded, err := filepath.Abs(filepath.Join("testdata", "fuzzsh", tt.out))
			if err != nil {
				t.Fatal(err)
			}
			fakeGo := filepath.Join(t.TempDir(), "go")
			script := "#!/bin/sh\ncat '" + recorded + "'\nexit " + strconv.Itoa(tt.exitCode) + "\n"
			if err := os.WriteFile(fakeGo, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("bash", "fuzz.sh", "example.org/p", "FuzzX", "3s")
			cmd.Env = append(os.Environ(), "GO="+fakeGo, "FUZZ_QUIET=1")
			out, err := cmd.CombinedOutput()
			if pass := err == nil; pass != tt.pass {
				t.Errorf("passed %v, want %v; output:\n%s", pass, tt.pass, out)
			}
			if !tt.pass && !strings.Contains(string(out), "FAIL example.org/p FuzzX") {
				t.Errorf("a failure does not show go test's output:\n%s", out)
			}
		})
	}
}
