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

// Debounce defaults: a reload runs this long after the last file event of a burst, and at the
// latest this long after its first event (a steady trickle of events cannot starve it).
const (
	DefaultDebounce = 150 * time.Millisecond
	maxDebounce     = time.Second
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
	dirs     []WatchDir
	trigger  chan string

	fs      *fsnotify.Watcher
	watched map[string]os.FileInfo // resolved directory -> what it was when added
}

// NewWatcher watches dirs and calls reload (with a short reason for the log) after changes.
// debounce 0 means DefaultDebounce. Close it with Run's context.
func NewWatcher(log *slog.Logger, debounce time.Duration, reload func(reason string), dirs ...WatchDir) (*Watcher, error) {
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	fs, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("starting the file watcher: %w", err)
	}
	w := &Watcher{log: log, reload: reload, debounce: debounce, dirs: dirs,
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
		first    time.Time
		lastName string
	)
	timer.Stop()
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
			lastName = ev.Name
			now := time.Now()
			if !pending {
				pending, first = true, now
			}
			wait := w.debounce
			if limit := first.Add(maxDebounce).Sub(now); limit < wait {
				wait = max(limit, 0)
			}
			timer.Reset(wait)
		case <-timer.C:
			if pending {
				fire("file change: " + lastName)
			}
		case err, ok := <-w.fs.Errors:
			if !ok {
				return errors.New("file watcher closed")
			}
			// An overflowed event queue means events were lost: reload to be sure.
			w.log.Warn("file watcher", "err", err)
			if !pending {
				pending, first = true, time.Now()
			}
			timer.Reset(w.debounce)
		}
	}
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
