package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Defaults of the watcher's timing. A reload runs DefaultDebounce after the last file event of
// a burst. A file written in place (an event that says its content changed) must also have
// settled: its size and mtime unchanged for DefaultSettle, a time every write restarts. A slow
// writer (scp or rsync --inplace over a slow link, a script writing section by section) thus
// never has a partial file read; there is no upper bound that would force a read of a file
// still growing. Files that appear complete (an editor's atomic save, `mv` into place, a
// symlink or ConfigMap swap) need no settling: they are read after DefaultDebounce.
const (
	DefaultDebounce = 150 * time.Millisecond
	DefaultSettle   = 750 * time.Millisecond
	// settleWarnAfter is how long a file may keep changing before the log says that the
	// reload waits for it.
	settleWarnAfter = time.Minute
)

// WatchDir is one directory to watch. Match, when set, selects the names (base names of entries
// in Dir) whose events matter; nil means every entry.
type WatchDir struct {
	Dir   string
	Match func(name string) bool
}

// Watcher calls a reload function when files in the watched directories change (debounced) or
// when Trigger is called (SIGHUP). It watches directories, not files, so that editors' atomic
// saves (write a temporary file, rename it over the old), `mv` into place and Kubernetes
// ConfigMap symlink swaps (..data -> ..2026_x) are all seen. Reloads never overlap: they run one
// at a time on the goroutine that called Run.
type Watcher struct {
	log      *slog.Logger
	reload   func(reason string)
	debounce time.Duration
	settle   time.Duration
	dirs     []WatchDir
	trigger  chan string

	fs      *fsnotify.Watcher
	watched map[string]os.FileInfo // resolved directory -> what it was when added
}

// NewWatcher watches dirs and calls reload (with a short reason for the log) after changes.
// debounce 0 means DefaultDebounce; files written in place settle for DefaultSettle. Close it
// with Run's context.
func NewWatcher(log *slog.Logger, debounce time.Duration, reload func(reason string), dirs ...WatchDir) (*Watcher, error) {
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	fs, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("starting the file watcher: %w", err)
	}
	w := &Watcher{log: log, reload: reload, debounce: debounce, settle: DefaultSettle, dirs: dirs,
		trigger: make(chan string, 1), fs: fs, watched: map[string]os.FileInfo{}}
	if err := w.refresh(); err != nil {
		fs.Close()
		return nil, err
	}
	return w, nil
}

// ConfigWatchDirs are the directories to watch for a config file and a rules directory: the
// rules directory (every entry), its parent (the rules directory itself being replaced, as a
// symlink or by rename), and the config file's directory (the config file, and ConfigMap "..*"
// entries).
func ConfigWatchDirs(configPath, rulesDir string) []WatchDir {
	cfgBase := filepath.Base(configPath)
	rulesBase := filepath.Base(filepath.Clean(rulesDir))
	cfgDir := filepath.Dir(configPath)
	rulesParent := filepath.Dir(filepath.Clean(rulesDir))
	ours := func(names ...string) func(string) bool {
		return func(n string) bool {
			for _, want := range names {
				if n == want {
					return true
				}
			}
			return strings.HasPrefix(n, "..")
		}
	}
	if filepath.Clean(cfgDir) == filepath.Clean(rulesParent) {
		return []WatchDir{{Dir: rulesDir}, {Dir: cfgDir, Match: ours(cfgBase, rulesBase)}}
	}
	return []WatchDir{{Dir: rulesDir}, {Dir: cfgDir, Match: ours(cfgBase)}, {Dir: rulesParent, Match: ours(rulesBase)}}
}

// Trigger asks for a reload now (no debounce), e.g. on SIGHUP. It never blocks; triggers that
// arrive while one is pending are merged.
func (w *Watcher) Trigger(reason string) {
	select {
	case w.trigger <- reason:
	default:
	}
}

// Run delivers reloads until ctx ends, then closes the watcher.
func (w *Watcher) Run(ctx context.Context) error {
	defer w.fs.Close()
	var (
		timer    = time.NewTimer(time.Hour)
		pending  bool
		quietAt  time.Time // the debounce of the last event ends
		lastName string
		writing  = writers{}
	)
	timer.Stop()
	// schedule sets the timer for the next look: the end of the debounce, then the earliest
	// time a file being written could have settled.
	schedule := func(now time.Time) {
		next := quietAt
		if at, ok := writing.settledAt(w.settle); ok && !next.After(now) {
			next = at
		}
		timer.Reset(max(next.Sub(now), 0))
	}
	fire := func(reason string) {
		pending = false
		timer.Stop()
		// Watch first, then read: a directory swapped in (a symlink or ConfigMap swap) is
		// watched before the reload reads it, so an edit made right after the swap is either
		// in this reload or raises an event for the next one; never lost in between.
		if err := w.refresh(); err != nil {
			w.log.Warn("watching for rule and config changes", "err", err)
		}
		w.reload(reason)
		if len(writing) > 0 {
			// A SIGHUP reload read files still being written: reload again once they settle.
			pending = true
			schedule(time.Now())
		}
	}
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case reason := <-w.trigger:
			fire(reason)
		case ev, ok := <-w.fs.Events:
			if !ok {
				return errors.New("file watcher closed")
			}
			if !w.matters(ev) {
				continue
			}
			w.log.Debug("file event", "event", ev.Op.String(), "file", ev.Name)
			now := time.Now()
			switch {
			case ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename):
				delete(writing, ev.Name) // a temporary file renamed into place is complete
			case ev.Has(fsnotify.Write):
				writing.changed(ev.Name, now)
			}
			pending, lastName, quietAt = true, ev.Name, now.Add(w.debounce)
			schedule(now)
		case <-timer.C:
			now := time.Now()
			for _, name := range writing.check(w.settle, now) {
				w.log.Warn("a changed file keeps changing; the reload waits until it has not changed for the settle time",
					"file", name, "settle_seconds", w.settle.Seconds())
			}
			if len(writing) > 0 {
				schedule(now)
				continue
			}
			if pending {
				fire("file change: " + lastName)
			}
		case err, ok := <-w.fs.Errors:
			if !ok {
				return errors.New("file watcher closed")
			}
			// An overflowed event queue means events were lost: reload to be sure.
			w.log.Warn("file watcher", "err", err)
			now := time.Now()
			pending, quietAt = true, now.Add(w.debounce)
			schedule(now)
		}
	}
}

// writers are the files being written in place, by path: a reload waits until each has kept
// its size and mtime for the settle time.
type writers map[string]*writer

type writer struct {
	size   int64
	mtime  time.Time
	since  time.Time // the last change seen: a write event, or a new size or mtime
	first  time.Time // the first change seen
	warned bool
}

// changed records a write event for path.
func (ws writers) changed(path string, now time.Time) {
	wr := ws[path]
	if wr == nil {
		wr = &writer{first: now}
		ws[path] = wr
	}
	wr.since = now
	if st, err := os.Stat(path); err == nil {
		wr.size, wr.mtime = st.Size(), st.ModTime()
	}
}

// check looks at each file again: one gone (renamed, removed) or unchanged for settle is
// forgotten, one whose size or mtime moved starts its settle time again. It returns the files
// that have kept changing for settleWarnAfter, once each.
func (ws writers) check(settle time.Duration, now time.Time) (slow []string) {
	for path, wr := range ws {
		st, err := os.Stat(path)
		switch {
		case err != nil:
			delete(ws, path)
		case st.Size() != wr.size || !st.ModTime().Equal(wr.mtime):
			wr.size, wr.mtime, wr.since = st.Size(), st.ModTime(), now
		case now.Sub(wr.since) >= settle:
			delete(ws, path)
			continue
		}
		if wr := ws[path]; wr != nil && !wr.warned && now.Sub(wr.first) >= settleWarnAfter {
			wr.warned = true
			slow = append(slow, path)
		}
	}
	return slow
}

// settledAt is the earliest time a file being written may have settled; false when none is.
func (ws writers) settledAt(settle time.Duration) (time.Time, bool) {
	var at time.Time
	for _, wr := range ws {
		if t := wr.since.Add(settle); at.IsZero() || t.Before(at) {
			at = t
		}
	}
	return at, !at.IsZero()
}

// matters reports whether an event is in a watched directory and matches its filter.
func (w *Watcher) matters(ev fsnotify.Event) bool {
	dir, name := filepath.Dir(ev.Name), filepath.Base(ev.Name)
	for _, d := range w.dirs {
		if filepath.Clean(d.Dir) != dir { // fsnotify names events after the path we added
			continue
		}
		if d.Match == nil || d.Match(name) {
			return true
		}
	}
	return false
}

// refresh (re-)adds a watch for each directory that is new or was replaced (a symlinked rules
// directory swapped, a directory removed and created again). A directory that does not exist
// is skipped: its parent's watch sees it come back.
func (w *Watcher) refresh() error {
	var errs []error
	for _, d := range w.dirs {
		path := filepath.Clean(d.Dir)
		st, err := os.Stat(path)
		if err != nil {
			continue
		}
		if old, ok := w.watched[path]; ok && os.SameFile(old, st) {
			continue
		}
		if _, ok := w.watched[path]; ok {
			_ = w.fs.Remove(path) // the old inode's watch may be gone already
		}
		if err := w.fs.Add(path); err != nil {
			errs = append(errs, fmt.Errorf("watching %q: %w", path, err))
			continue
		}
		w.watched[path] = st
	}
	return errors.Join(errs...)
}
