package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestBuildEdgerewriteUsesEnvBinary(t *testing.T) {
	t.Setenv("EDGEREWRITE_BIN", os.Args[0])
	bin, err := BuildEdgerewrite()
	if err != nil || !filepath.IsAbs(bin) {
		t.Fatalf("BuildEdgerewrite() = %q, %v", bin, err)
	}
	t.Setenv("EDGEREWRITE_BIN", filepath.Join(t.TempDir(), "missing"))
	if _, err := BuildEdgerewrite(); err == nil {
		t.Error("missing EDGEREWRITE_BIN accepted")
	}
}

func TestRemoveStaleBuilds(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	start, err := ProcStart(os.Getpid())
	if err != nil || start == "" {
		t.Fatalf("procStart: %q %v", start, err)
	}
	mine := filepath.Join(tmp, fmt.Sprintf("edgerewrite-build-%d-%s", os.Getpid(), start))
	reused := filepath.Join(tmp, fmt.Sprintf("edgerewrite-build-%d-1", os.Getpid())) // same PID, older process
	gone := filepath.Join(tmp, "edgerewrite-build-2147483646-5")
	for _, d := range []string{mine, reused, gone} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	removeStaleBuilds()
	for d, keep := range map[string]bool{mine: true, reused: false, gone: false} {
		if _, err := os.Stat(d); (err == nil) != keep {
			t.Errorf("%s: kept=%v, want %v", d, err == nil, keep)
		}
	}
}
