package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgerewrite/edgerewrite/rewrite"
)

// Waves are the cutover list files of a rules directory, parsed and validated. A Waves is
// immutable; Policy.WithWaves puts it in a policy's cutover index, where its entries are
// matched exactly as [[cutover]] tables are.
type Waves struct {
	files []*waveFile
}

// waveFile is one parsed cutover list file; the loader reuses it while the file is unchanged.
type waveFile struct {
	path    string
	info    os.FileInfo
	entries []*cutover
}

// WaveLoader reads the cutover list files of a rules directory. It remembers each file it
// parsed, so that a reload re-parses only the files that changed (size, mtime or inode, as an
// edit or an atomic save changes them). It is safe for concurrent use.
type WaveLoader struct {
	mu    sync.Mutex
	cache map[string]*waveFile
}

// Load reads every *.cutover file of dir (names starting with '.' ignored, symlinks followed)
// and returns them as Waves. On any problem it returns every one, each a *FileError with the
// file and line, and no Waves: one bad line refuses the whole load.
func (l *WaveLoader) Load(dir string) (*Waves, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, &FileError{File: dir, Err: fmt.Errorf("%w: reading the rules directory: %w", ErrWaveFile, err)}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cache == nil {
		l.cache = map[string]*waveFile{}
	}
	var (
		w    Waves
		errs []error
		seen = map[string]bool{}
	)
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, WaveFileExt) {
			continue
		}
		path := filepath.Join(dir, name)
		seen[path] = true
		f, fileErrs := l.file(path, name)
		errs = append(errs, fileErrs...)
		if f != nil {
			w.files = append(w.files, f)
		}
	}
	for p := range l.cache {
		if !seen[p] {
			delete(l.cache, p)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &w, nil
}

// file returns the parsed file at path: the cached one when the file did not change.
func (l *WaveLoader) file(path, name string) (*waveFile, []error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, []error{&FileError{File: path, Err: fmt.Errorf("%w: %w", ErrWaveFile, unwrapPath(err))}}
	}
	if old := l.cache[path]; old != nil && os.SameFile(old.info, fi) &&
		old.info.Size() == fi.Size() && old.info.ModTime().Equal(fi.ModTime()) {
		return old, nil
	}
	delete(l.cache, path)
	switch {
	case !fi.Mode().IsRegular():
		return nil, []error{&FileError{File: path, Err: fmt.Errorf("%w: not a regular file", ErrWaveFile)}}
	case fi.Size() > maxWaveFileSize:
		return nil, []error{&FileError{File: path, Err: fmt.Errorf("%w: %d bytes, more than the %d a cutover list file may have",
			ErrWaveFile, fi.Size(), maxWaveFileSize)}}
	}
	b, err := readLimited(path, maxWaveFileSize)
	if err != nil {
		return nil, []error{&FileError{File: path, Err: fmt.Errorf("%w: %w", ErrWaveFile, unwrapPath(err))}}
	}
	entries, errs := parseWaveFile(path, name, b)
	if len(errs) > 0 {
		return nil, errs
	}
	f := &waveFile{path: path, info: fi, entries: entries}
	l.cache[path] = f
	return f, nil
}

// readLimited reads at most limit bytes of the file at path, and fails when it holds more
// (it may have grown since it was checked).
func readLimited(path string, limit int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("more than the %d bytes a cutover list file may have", limit)
	}
	return b, nil
}

// unwrapPath drops the path an *os.PathError repeats.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Same reports whether w and v hold the same files, each as parsed once (nil and empty are
// the same): a policy built with one decides as one built with the other.
func (w *Waves) Same(v *Waves) bool {
	var a, b []*waveFile
	if w != nil {
		a = w.files
	}
	if v != nil {
		b = v.files
	}
	return slices.Equal(a, b)
}

// Entries is the number of entries of all the files.
func (w *Waves) Entries() int {
	if w == nil {
		return 0
	}
	n := 0
	for _, f := range w.files {
		n += len(f.entries)
	}
	return n
}

// WithWaves returns a policy deciding like p, with the entries of w added to p's cutovers, or
// every conflict as a *FileError: an entry whose window overlaps that of another entry for the
// same match, in a file or a [[cutover]] table. p itself is not changed; a nil or empty w
// returns p.
func (p *Policy) WithWaves(w *Waves) (*Policy, error) {
	if w.Entries() == 0 {
		return p, nil
	}
	q := *p
	q.cutovers = cutoverIndex{byAddr: make(map[string][]*cutover, len(p.cutovers.byAddr)+w.Entries()),
		byDomain: newDomainMap[[]*cutover](), delims: p.cutovers.delims}
	maps.Copy(q.cutovers.byAddr, p.cutovers.byAddr)
	maps.Copy(q.cutovers.byDomain.exact, p.cutovers.byDomain.exact)
	maps.Copy(q.cutovers.byDomain.wild, p.cutovers.byDomain.wild)
	var errs []error
	for _, f := range w.files {
		n := 0
		for _, c := range f.entries {
			clash := q.cutovers.add(c)
			if clash == nil {
				continue
			}
			if n++; n <= rewrite.MaxFileProblems {
				errs = append(errs, &FileError{File: f.path, Line: c.line, Err: &kindError{kind: ErrDuplicate, err: fmt.Errorf(
					"its window overlaps that of %s for the same match %q", clash.origin(), c.match)}})
			}
		}
		if n > rewrite.MaxFileProblems {
			errs = append(errs, &FileError{File: f.path, Err: &rewrite.MoreProblems{N: n - rewrite.MaxFileProblems}})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &q, nil
}

// Fingerprint identifies what the entries of w decide, as 16 hex digits: the entries (match,
// action, window, text), whatever files and lines they are written in; "" when there are none.
// Two gateways whose wave files hold the same entries show the same value.
func (w *Waves) Fingerprint() string {
	if w.Entries() == 0 {
		return ""
	}
	var lines []string
	for _, f := range w.files {
		for _, c := range f.entries {
			lines = append(lines, strings.Join([]string{c.match, strconv.FormatBool(c.hold),
				windowBound(c.start), windowBound(c.end), c.text}, "\t"))
		}
	}
	slices.Sort(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:8])
}

// windowBound is a window bound in the fingerprint's form: UTC, "" when open.
func windowBound(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// WaveSummary describes one cutover list file for `edgerewrite check`.
type WaveSummary struct {
	// File is the file's path.
	File string
	// Entries is its number of entries; Defer and Hold count them by action.
	Entries, Defer, Hold int
	// Active is the number of entries in force at the time asked for.
	Active int
	// NextStart is the earliest start after that time, zero when none; NextEnd likewise the
	// earliest end.
	NextStart, NextEnd time.Time
}

// Summary describes each file of w at now, in file name order.
func (w *Waves) Summary(now time.Time) []WaveSummary {
	if w == nil {
		return nil
	}
	var out []WaveSummary
	for _, f := range w.files {
		s := WaveSummary{File: f.path, Entries: len(f.entries)}
		for _, c := range f.entries {
			if c.hold {
				s.Hold++
			} else {
				s.Defer++
			}
			if c.active(now) {
				s.Active++
			}
			if c.start.After(now) && (s.NextStart.IsZero() || c.start.Before(s.NextStart)) {
				s.NextStart = c.start
			}
			if c.end.After(now) && (s.NextEnd.IsZero() || c.end.Before(s.NextEnd)) {
				s.NextEnd = c.end
			}
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b WaveSummary) int { return strings.Compare(a.File, b.File) })
	return out
}
