package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/rewrite"
)

// TestLimitsAndSocketMode checks the [limits] table and the socket_mode guard: defaults when
// not set, values as written, and a problem at file:line for each bad one.
func TestLimitsAndSocketMode(t *testing.T) {
	base := "listen = \"unix:/run/er.sock\"\nrules_dir = \"" + t.TempDir() + "\"\n"
	cases := []struct {
		name, doc string
		want      Limits        // with defaults
		timeout   time.Duration // want.Timeout()
		errs      []string      // ":line: problem" substrings
		is        error
	}{
		{name: "defaults", want: Limits{MaxConnections: DefaultMaxConnections, MaxMacros: DefaultMaxMacros,
			MaxMacroBytes: DefaultMaxMacroBytes, MaxHeaderBytes: DefaultMaxHeaderBytes, MaxRecipients: DefaultMaxRecipients,
			ReadTimeout: "1h0m0s"}, timeout: DefaultReadTimeout},
		{name: "set", doc: "[limits]\nmax_connections = 4\nmax_macros = 10\nmax_macro_bytes = 100\nmax_header_bytes = 2000\nmax_recipients = 3\nread_timeout = \"90s\"\n",
			want:    Limits{MaxConnections: 4, MaxMacros: 10, MaxMacroBytes: 100, MaxHeaderBytes: 2000, MaxRecipients: 3, ReadTimeout: "90s"},
			timeout: 90 * time.Second},
		{name: "bad", doc: "[limits]\nmax_recipients = -1\nread_timeout = \"ten minutes\"\n",
			errs: []string{":4: bad limit: limits.max_recipients = -1", ":5: bad limit: limits.read_timeout \"ten minutes\""}, is: ErrBadLimit},
		{name: "world-writable socket", doc: "socket_mode = \"0666\"\n",
			errs: []string{`:3: bad socket mode: socket_mode "0666" is wider than "0660"`}, is: ErrBadSocketMode},
		{name: "group and other executable", doc: "socket_mode = \"0770\"\n",
			errs: []string{`:3: bad socket mode: socket_mode "0770" is wider`}, is: ErrBadSocketMode},
		{name: "wide socket allowed explicitly", doc: "socket_mode = \"0666\"\nallow_wide_socket_mode = true\n",
			want: Limits{}.WithDefaults(), timeout: DefaultReadTimeout},
		{name: "narrower socket", doc: "socket_mode = \"0600\"\n", want: Limits{}.WithDefaults(), timeout: DefaultReadTimeout},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "edgerewrite.toml")
			cfg, err := ParseConfig(path, []byte(base+tc.doc))
			if len(tc.errs) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if got := cfg.Limits.WithDefaults(); got != tc.want || got.Timeout() != tc.timeout {
					t.Errorf("limits %+v (timeout %s), want %+v (%s)", got, got.Timeout(), tc.want, tc.timeout)
				}
				return
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(%v, %v) is false", err, tc.is)
			}
			for _, e := range tc.errs {
				if err == nil || !strings.Contains(err.Error(), e) {
					t.Errorf("got %v, want a problem %q", err, e)
				}
			}
		})
	}
}

// TestLoadConfigNotARegularFile: a FIFO or /dev/zero in the config file's place is refused at
// once, naming it, never waited on or read without end.
func TestLoadConfigNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.toml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no FIFO:", err)
	}
	zero := filepath.Join(dir, "zero.toml")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, zero} {
		done := make(chan error, 1)
		go func() { _, err := LoadConfig(path); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, rewrite.ErrNotRegular) || !strings.HasPrefix(err.Error(), path+": reading config:") {
				t.Errorf("%s: %v", path, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("LoadConfig(%s) did not return within 5 s", path)
		}
	}
}

// TestUnknownKeysBounded: a config file of 2,000 unknown keys lists the first
// rewrite.MaxFileProblems and counts the rest.
func TestUnknownKeysBounded(t *testing.T) {
	var b strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&b, "key%d = 1\n", i)
	}
	_, err := ParseConfig(filepath.Join(t.TempDir(), "edgerewrite.toml"), []byte(b.String()))
	ps := Problems(err)
	if len(ps) != rewrite.MaxFileProblems+1 || !strings.Contains(ps[len(ps)-1].Error(), "and 1980 more unknown keys in this file") {
		t.Errorf("%d problems, last %v; want %d, the last counting the rest", len(ps), ps[len(ps)-1], rewrite.MaxFileProblems+1)
	}
}
