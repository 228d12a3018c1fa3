package harness

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// BuildEdgerewrite returns the path of an edgerewrite binary: $EDGEREWRITE_BIN when set,
// otherwise ./cmd/edgerewrite of this module built once per process. The build lands in
// $TMPDIR/edgerewrite-build-PID-START (START: the process start time, so a reused PID never
// picks up an old binary); concurrent callers wait on a file lock, and directories of
// processes that are gone are removed.
func BuildEdgerewrite() (string, error) {
	if bin := os.Getenv("EDGEREWRITE_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("EDGEREWRITE_BIN: %w", err)
		}
		return abs, nil
	}
	start, err := ProcStart(os.Getpid())
	if err != nil {
		return "", err
	}
	removeStaleBuilds()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("edgerewrite-build-%d-%s", os.Getpid(), start))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	bin := filepath.Join(dir, "edgerewrite")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-o", bin+".tmp", "./cmd/edgerewrite")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/edgerewrite in %s: %w\n%s", root, err, out)
	}
	if err := os.Rename(bin+".tmp", bin); err != nil {
		return "", err
	}
	return bin, nil
}

// MustBuildEdgerewrite is BuildEdgerewrite for tests: it fails the test when the build fails.
func MustBuildEdgerewrite(t testing.TB) string {
	t.Helper()
	bin, err := BuildEdgerewrite()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// ModuleRoot is the directory of the go.mod of the module the working directory is in.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the edgerewrite module: run from the repository (or set EDGEREWRITE_BIN)")
	}
	return filepath.Dir(gomod), nil
}

// ProcStart is field 22 of /proc/PID/stat: the process start time in clock ticks since boot.
func ProcStart(pid int) (string, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", err
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return "", fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 20 {
		return "", fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return f[19], nil // fields after "(comm)" start at field 3
}

// removeStaleBuilds removes build directories whose process is gone.
func removeStaleBuilds() {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), "edgerewrite-build-*-*"))
	for _, m := range matches {
		parts := strings.Split(filepath.Base(m), "-")
		if len(parts) != 4 {
			continue
		}
		pid, err := strconv.Atoi(parts[2])
		if err != nil {
			continue
		}
		if start, err := ProcStart(pid); err == nil && start == parts[3] {
			continue // still running
		}
		os.RemoveAll(m)
	}
}
