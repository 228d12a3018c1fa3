package rewrite

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSpecialFilesInRulesDirectory puts, beside a good rule file, an entry with a rule file's
// name that is not a regular file: each load must return within seconds with an error naming
// it, and the rules in service stay. Loading a FIFO would block forever, and /dev/zero would
// grow a buffer until the daemon runs out of memory.
func TestSpecialFilesInRulesDirectory(t *testing.T) {
	cases := []struct {
		name, entry string
		make        func(t *testing.T, path string)
		want        error
		kind        string
	}{
		{"fifo", "x.rules", func(t *testing.T, p string) {
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Skip("no FIFO:", err)
			}
		}, ErrNotRegular, "FIFO"},
		{"symlink to /dev/zero", "zero.rules", func(t *testing.T, p string) { symlink(t, "/dev/zero", p) }, ErrNotRegular, "character device"},
		{"directory", "sub.rules", func(t *testing.T, p string) {
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}, ErrNotRegular, "directory"},
		{"symlink to a directory", "up.csv", func(t *testing.T, p string) { symlink(t, "..", p) }, ErrNotRegular, "directory"},
		{"over the size limit", "big.rules", func(t *testing.T, p string) {
			if err := os.WriteFile(p, []byte(strings.Repeat("# comment\n", 200)), 0o644); err != nil {
				t.Fatal(err)
			}
		}, ErrTooLarge, "2000 bytes, over the limit of 1024"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeDir(t, dir, map[string]string{"a.rules": "a@x.example a@y.example\n"})
			tb := NewTable(Options{MaxFileSize: 1024})
			if _, err := tb.Load(dir); err != nil {
				t.Fatal(err)
			}
			s0 := tb.Snapshot()
			path := filepath.Join(dir, tc.entry)
			tc.make(t, path)
			err := loadWithin(t, tb, dir, 5*time.Second)
			got := problemLines(t, err)
			if !errors.Is(err, tc.want) || len(got) != 1 || !strings.HasPrefix(got[0], path+": ") || !strings.Contains(got[0], tc.kind) {
				t.Errorf("got %q, want one %v error naming %s (%s)", got, tc.want, path, tc.kind)
			}
			if tb.Snapshot() != s0 {
				t.Error("a rejected load changed the rules in service")
			}
		})
	}
}

// TestSymlinkToRegularFile: a symlink to a regular file is read, as config management and
// Kubernetes ConfigMaps lay rules out.
func TestSymlinkToRegularFile(t *testing.T) {
	dir, elsewhere := t.TempDir(), t.TempDir()
	writeDir(t, elsewhere, map[string]string{"real": "a@x.example a@y.example\n"})
	symlink(t, filepath.Join(elsewhere, "real"), filepath.Join(dir, "a.rules"))
	st, err := NewTable(Options{}).Load(dir)
	if err != nil || st.Rules != 1 {
		t.Errorf("got %+v %v", st, err)
	}
}

// TestReadFile covers what the load's directory scan cannot: a FIFO handed to ReadFile itself
// (as when one is swapped in between the scan's stat and the read) must not block, and a file
// that grows past the limit while it is read is refused.
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no FIFO:", err)
	}
	done := make(chan error, 1)
	go func() { _, err := ReadFile(fifo, 0); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), fifo) {
			t.Errorf("FIFO: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadFile blocked on a FIFO")
	}
	if _, err := ReadFile("/dev/zero", 1<<20); !errors.Is(err, ErrNotRegular) {
		t.Errorf("/dev/zero: %v", err)
	}
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		limit int64
		want  error
	}{{5, nil}, {4, ErrTooLarge}, {0, nil}} {
		b, err := ReadFile(p, tc.limit)
		if !errors.Is(err, tc.want) || (err == nil && string(b) != "12345") {
			t.Errorf("limit %d: %q %v, want %v", tc.limit, b, err, tc.want)
		}
	}
}

// loadWithin runs tb.Load(dir) and fails the test if it takes longer than d.
func loadWithin(t *testing.T, tb *Table, dir string, d time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { _, err := tb.Load(dir); done <- err }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("Load did not return within %s", d)
		return nil
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// problemLines returns the lines of a failed load's error, one per problem.
func problemLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		t.Fatal("load succeeded, want errors")
	}
	return strings.Split(err.Error(), "\n")
}
