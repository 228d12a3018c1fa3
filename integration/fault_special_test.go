package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// TestFaultSpecialFilesInRulesDirectory puts a FIFO and a symlink to /dev/zero, both with rule
// file names, into the rules directory of a running daemon. Each reload (on the file events
// and on SIGHUP) fails within seconds naming them, the old rules keep serving mail, the daemon
// stays small, and SIGTERM stops it.
func TestFaultSpecialFilesInRulesDirectory(t *testing.T) {
	e := newFaultEnv(t, harness.MustBuildEdgerewrite(t), nil)
	const failure = `edgerewrite_reloads_total{result="failure"}`
	n := 0
	sendOne := func(t *testing.T) {
		t.Helper()
		n++
		harness.MustSend(t, e.tenantA, faultMessage("special", n))
		msgs, err := e.sink.WaitFor(n, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("user%d@contoso.com", n); msgs[n-1].From != want {
			t.Errorf("message %d: MAIL FROM <%s>, want <%s> (the old rules)", n, msgs[n-1].From, want)
		}
	}
	// failed does what, then waits for a failed reload.
	failed := func(t *testing.T, why string, what func() error) {
		t.Helper()
		before := e.metric(failure)
		if err := what(); err != nil {
			t.Fatal(err)
		}
		if _, err := e.waitMetric(failure, func(v float64) bool { return v > before }, 10*time.Second); err != nil {
			t.Fatalf("%s: no failed reload within 10 s: %v", why, err)
		}
	}
	sendOne(t)

	hup := func() error { return e.er.Signal(syscall.SIGHUP) }

	fifo := filepath.Join(e.rulesDir, "x.rules")
	failed(t, "a FIFO in the rules directory", func() error { return syscall.Mkfifo(fifo, 0o644) })
	sendOne(t)
	// The reload loop is not stuck on the FIFO: SIGHUP reloads (and fails) again.
	failed(t, "SIGHUP with a FIFO in the rules directory", hup)

	zero := filepath.Join(e.rulesDir, "zero.csv")
	failed(t, "a symlink to /dev/zero in the rules directory", func() error { return os.Symlink("/dev/zero", zero) })
	sendOne(t)
	failed(t, "SIGHUP with /dev/zero in the rules directory", hup)
	sendOne(t)

	if rss := rssMiB(t, e.er.PID()); rss > 100 {
		t.Errorf("the daemon's resident memory is %d MiB, want under 100 MiB", rss)
	}
	log := e.er.Log()
	for _, p := range []string{fifo + ": reading the rule file: not a regular file", zero + ": reading the rule file: not a regular file"} {
		if !strings.Contains(log, p) {
			t.Errorf("the daemon log lacks %q", p)
		}
	}
	start := time.Now()
	if err := e.er.Stop(); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the daemon took %s to stop after SIGTERM", took)
	}
}

// rssMiB returns the resident set size of process pid in MiB (VmRSS of /proc/PID/status).
func rssMiB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return kb / 1024
		}
	}
	t.Fatal("no VmRSS in /proc/PID/status")
	return 0
}
