package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// The work directory (rules, maps, messages, daemon configs and sockets) is
// $TMPDIR/edgerewrite-benchrun-PID-START-*, START being this process's start time. A driver
// killed before its clean-up (a go test timeout, SIGKILL) leaves it behind; the next driver
// removes the directories of processes that are gone. The Postfix instances clean up after
// themselves (the harness's watchdog); the sinks and daemons die with the driver (Pdeathsig).
const workPrefix = "edgerewrite-benchrun-"

// makeWorkDir removes stale work directories and creates this run's, 0755 so that Postfix's
// unprivileged daemons reach the milter sockets in it.
func makeWorkDir() (string, error) {
	removeStaleWorkDirs()
	start, err := harness.ProcStart(os.Getpid())
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-%s-", workPrefix, os.Getpid(), start))
	if err != nil {
		return "", err
	}
	return dir, os.Chmod(dir, 0o755)
}

// removeStaleWorkDirs removes the work directories whose driver process is gone.
func removeStaleWorkDirs() {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), workPrefix+"*"))
	for _, m := range matches {
		f := strings.Split(strings.TrimPrefix(filepath.Base(m), workPrefix), "-")
		if len(f) < 3 {
			continue
		}
		pid, err := strconv.Atoi(f[0])
		if err != nil {
			continue
		}
		if start, err := harness.ProcStart(pid); err == nil && start == f[1] {
			continue // its driver still runs
		}
		os.RemoveAll(m)
	}
}
