package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/edgerewrite/edgerewrite/milter/config"
	"github.com/edgerewrite/edgerewrite/policy"
)

// checkWaves validates the cutover list files of the rules directory dir with the config's
// [[cutover]] tables and summarises each file at now: its entries, how many are in force, and
// the next window start and end. It returns the problems; a directory that cannot be read is
// the rules check's to report.
func checkWaves(w io.Writer, cfg *config.Config, dir string, now time.Time) []error {
	if _, err := os.ReadDir(dir); err != nil {
		return nil
	}
	var wl policy.WaveLoader
	start := time.Now()
	waves, err := wl.Load(dir)
	if err == nil && cfg.Policy() != nil {
		_, err = cfg.Policy().WithWaves(waves)
	}
	if err != nil {
		return config.Problems(err)
	}
	sum := waves.Summary(now)
	if len(sum) == 0 {
		return nil
	}
	fmt.Fprintf(w, "cutover lists %s: %s in %s (loaded in %.3fs)\n", dir,
		entries(waves.Entries()), plural(len(sum), "file"), time.Since(start).Seconds())
	for _, s := range sum {
		name, err := filepath.Rel(dir, s.File)
		if err != nil {
			name = s.File
		}
		fmt.Fprintf(w, "  %-40s %d (hold %d, defer %d), %d active now, next start %s, next end %s\n",
			name, s.Entries, s.Hold, s.Defer, s.Active, timeOrNone(s.NextStart), timeOrNone(s.NextEnd))
	}
	return nil
}

func timeOrNone(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.Format(time.RFC3339)
}

// entries is "1 entry", "2 entries".
func entries(n int) string {
	if n == 1 {
		return "1 entry"
	}
	return fmt.Sprintf("%d entries", n)
}
