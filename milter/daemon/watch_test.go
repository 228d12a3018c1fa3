package daemon

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// watchedReads runs a Watcher on dir whose reload reads dir/name; it returns what each reload
// read, and when.
type watchedReads struct {
	mu    sync.Mutex
	reads []watchedRead
	w     *Watcher
}

type watchedRead struct {
	at      time.Time
	content string
}

func watchReads(t *testing.T, dir, name string) *watchedReads {
	t.Helper()
	wr := &watchedReads{}
	reload := func(string) {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		wr.mu.Lock()
		wr.reads = append(wr.reads, watchedRead{time.Now(), string(b)})
		wr.mu.Unlock()
	}
	w, err := NewWatcher(slog.New(slog.NewTextHandler(io.Discard, nil)), 0, reload, WatchDir{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	wr.w = w
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return wr
}

func (wr *watchedReads) get() []watchedRead {
	wr.mu.Lock()
	defer wr.mu.Unlock()
	return append([]watchedRead(nil), wr.reads...)
}

// TestWatcherSettles writes a file the ways admins and tools do and checks what the reloads
// read: a file written in place is read once, complete, after it stopped changing for the
// settle time, however long the writing takes; a file that arrives complete (rename, symlink
// swap) is read at once; SIGHUP reloads at once, and again once a file being written settles.
func TestWatcherSettles(t *testing.T) {
	full := strings.Repeat("john@tenanta.contoso.com john@contoso.com\n", 2000)
	cases := []struct {
		name string
		// write puts full into dir/a.rules (which holds "old\n") and returns when it is done;
		// trigger is the watcher's Trigger (SIGHUP).
		write func(t *testing.T, path string, trigger func())
		// reads is the number of reloads; the last must read full.
		reads int
		// within bounds the time from the end of the write to the last reload.
		within time.Duration
		// after is the least time from the end of the write to the first reload.
		after time.Duration
	}{
		{
			name: "in place in 20 chunks 0.2 s apart",
			write: func(t *testing.T, path string, _ func()) {
				writeChunks(t, path, full, 20, 200*time.Millisecond)
			},
			reads: 1, after: DefaultSettle - 50*time.Millisecond, within: DefaultSettle + time.Second,
		},
		{
			name: "in place, a pause just under the settle time",
			write: func(t *testing.T, path string, _ func()) {
				writeChunks(t, path, full, 3, DefaultSettle-150*time.Millisecond)
			},
			reads: 1, after: DefaultSettle - 50*time.Millisecond, within: DefaultSettle + time.Second,
		},
		{
			name: "atomic save: temporary file renamed over",
			write: func(t *testing.T, path string, _ func()) {
				tmp := filepath.Join(filepath.Dir(path), ".a.rules.tmp")
				writeChunks(t, tmp, full, 5, 50*time.Millisecond)
				if err := os.Rename(tmp, path); err != nil {
					t.Fatal(err)
				}
			},
			reads: 1, within: DefaultSettle - 100*time.Millisecond,
		},
		{
			name: "symlink swap",
			write: func(t *testing.T, path string, _ func()) {
				target := filepath.Join(t.TempDir(), "v2")
				if err := os.WriteFile(target, []byte(full), 0o644); err != nil {
					t.Fatal(err)
				}
				link := filepath.Join(filepath.Dir(path), ".a.rules.link")
				if err := os.Symlink(target, link); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(link, path); err != nil {
					t.Fatal(err)
				}
			},
			reads: 1, within: DefaultSettle - 100*time.Millisecond,
		},
		{
			name: "SIGHUP while a file is written in place",
			write: func(t *testing.T, path string, trigger func()) {
				f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				f.WriteString(full[:len(full)/2])
				trigger()
				time.Sleep(300 * time.Millisecond)
				f.WriteString(full[len(full)/2:])
			},
			reads: 2, within: DefaultSettle + time.Second,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "a.rules")
			if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			wr := watchReads(t, dir, "a.rules")
			tc.write(t, path, func() { wr.w.Trigger("SIGHUP") })
			done := time.Now()
			time.Sleep(tc.within + 500*time.Millisecond) // any late or extra reload happens by now
			reads := wr.get()
			if len(reads) != tc.reads {
				t.Fatalf("%d reloads, want %d", len(reads), tc.reads)
			}
			last := reads[len(reads)-1]
			if last.content != full {
				t.Errorf("the last reload read %d bytes, want the complete file (%d)", len(last.content), len(full))
			}
			if took := last.at.Sub(done); took > tc.within {
				t.Errorf("the last reload came %s after the write, want within %s", took, tc.within)
			}
			if first := reads[0].at.Sub(done); tc.after > 0 && first < tc.after {
				t.Errorf("the first reload came %s after the write ended, want at least %s (settled)", first, tc.after)
			}
		})
	}
}

// writeChunks writes content to path in place (truncating it), in n chunks with pause between.
func writeChunks(t *testing.T, path, content string, n int, pause time.Duration) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size := (len(content) + n - 1) / n
	for off := 0; off < len(content); off += size {
		if off > 0 {
			time.Sleep(pause)
		}
		if _, err := f.WriteString(content[off:min(off+size, len(content))]); err != nil {
			t.Fatal(err)
		}
	}
}
