package rewrite

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	memdb "github.com/hashicorp/go-memdb"
)

// fileState is what the table remembers of one rule file after a successful load: how to tell
// that it changed, and its rules in line order.
type fileState struct {
	stat  fileStat
	rules []*compiled
	lines *lineIndex // the parsed bytes' lines, to re-parse only what an edit changes
}

// fileStat identifies one version of a file: an edit changes size, mtime or ctime; an atomic
// save (write a new file, rename it over) or a symlink swap changes the inode.
type fileStat struct {
	size, mtime, ctime int64
	dev, ino           uint64
}

func statOf(fi os.FileInfo) fileStat {
	s := fileStat{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	s.ctime, s.dev, s.ino = inodeOf(fi)
	return s
}

// Load is Prepare and, when it succeeds, Commit: the rules of dir go into service at once.
// On any error the table keeps serving the previous snapshot unchanged (see Prepare).
func (t *Table) Load(dir string) (Stats, error) {
	p, err := t.Prepare(dir)
	if err != nil {
		return t.Snapshot().Stats(), err
	}
	return p.Commit().Stats(), nil
}

// Prepared is a load of the rules directory that validated but is not in service yet: the
// daemon builds the rest of a generation (config, policy) on its Snapshot and then commits it,
// or aborts it when any part of the generation fails. Until Commit or Abort the table accepts
// no other load, so every Prepared must be ended by one of them.
type Prepared struct {
	t      *Table
	txn    *memdb.Txn // the write transaction holding the new buckets, not yet committed
	snap   *Snapshot
	files  map[string]*fileState
	counts [numLookupKinds]int
	used   bucketSet
	kinds  map[Kind]int
	fp     fingerprintSum
	done   bool
}

// Prepare reads dir (*.rules native files and *.csv Exchange files, names starting with '.' and
// other files ignored; symlinks followed), re-parses only the files whose size, mtime, ctime or
// inode changed since the last commit, validates the whole resulting rule set, and builds the
// difference (deletes and inserts of the changed rules) in one memdb write transaction that is
// not committed. The Prepared's Snapshot reads the rules as they would be in service.
//
// On any error Prepare returns every error, sorted by file and line (errors.Join of *LoadError,
// each "file:line: what is wrong: \"bad value\""), and the table is left as it was. A directory
// with no rule files while the table holds rules is an error. So is a rule file name that is not
// a regular file (a directory, a FIFO, a device, a symlink to one) or a file over
// Options.MaxFileSize: Prepare never blocks on a FIFO nor reads without end from a device. At
// most MaxFileProblems problems of one file are returned one by one; a *MoreProblems counts the
// rest (ProblemCount gives the total).
func (t *Table) Prepare(dir string) (*Prepared, error) {
	t.mu.Lock()
	fail := func(errs []error) (*Prepared, error) {
		t.mu.Unlock()
		sortErrors(errs)
		return nil, errors.Join(boundProblems(errs)...)
	}
	limit := t.opts.MaxFileSize
	if limit <= 0 {
		limit = DefaultMaxFileSize
	}
	paths, err := ruleFiles(dir)
	if err != nil {
		return fail([]error{fileError(dir, "reading the rules directory", err)})
	}
	var (
		next           = make(map[string]*fileState, len(paths))
		removed, added []*compiled
		errs           []error
		oldRules       int
	)
	for _, f := range t.files {
		oldRules += len(f.rules)
	}
	if len(paths) == 0 && oldRules > 0 {
		return fail([]error{&LoadError{Pos: Position{File: dir}, Err: fmt.Errorf("no *.rules or *.csv file in the rules directory; keeping the %d rules in service", oldRules)}})
	}
	var todo []*parsedFile
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			errs = append(errs, fileError(p, "reading the rule file", err))
			continue
		}
		if err := checkRegular(fi, limit); err != nil {
			errs = append(errs, fileError(p, "reading the rule file", err))
			continue
		}
		st := statOf(fi)
		if old := t.files[p]; old != nil && old.stat == st {
			next[p] = old
			continue
		}
		pf := &parsedFile{path: p, stat: st}
		if old := t.files[p]; old != nil {
			pf.old = old.rules
			pf.prev = old.lines
		}
		todo = append(todo, pf)
	}
	parseFiles(todo, limit)
	for _, f := range todo {
		if f.err != nil {
			errs = append(errs, f.err)
			continue
		}
		errs = append(errs, f.errs...)
		kept, rem, add := f.diff()
		removed, added = append(removed, rem...), append(added, add...)
		next[f.path] = &fileState{stat: f.stat, rules: kept, lines: f.lines}
	}
	for p, f := range t.files {
		if _, ok := next[p]; !ok {
			removed = append(removed, f.rules...)
		}
	}
	pl := t.newBatch(removed, added)
	pl.build()
	if errs = append(errs, pl.errs...); len(errs) > 0 {
		return fail(errs)
	}
	sc := t.newSetCheck(pl, next)
	used := slices.Clone(t.used)
	txn, err := pl.write(t.db, used)
	if err != nil {
		return fail([]error{&LoadError{Pos: Position{File: dir}, Err: err}})
	}
	// The whole-set checks look rules up in the table as the load leaves it.
	if errs := sc.run(txn, used); len(errs) > 0 {
		txn.Abort()
		return fail(errs)
	}
	kinds := maps.Clone(t.kinds)
	for _, c := range removed {
		kinds[c.Kind]--
	}
	for _, c := range added {
		kinds[c.Kind]++
	}
	for k, n := range kinds {
		if n == 0 {
			delete(kinds, k)
		}
	}
	fp := t.fp
	fp.apply(removed, added)
	p := &Prepared{t: t, txn: txn, files: next, counts: pl.counts, used: used, kinds: kinds, fp: fp}
	p.snap = t.snapshotOf(txn.Snapshot(), next, pl.counts, used, kinds, fp, len(todo))
	sc.finish(p.snap, todo)
	return p, nil
}

// Snapshot is the view of the rules the Prepared puts in service when committed.
func (p *Prepared) Snapshot() *Snapshot { return p.snap }

// Commit puts the prepared rules in service and returns the Snapshot now in service. It may be
// called once; a Prepared that was aborted commits nothing.
func (p *Prepared) Commit() *Snapshot {
	if p.done {
		return p.t.Snapshot()
	}
	p.done = true
	t := p.t
	defer t.mu.Unlock()
	p.txn.Commit()
	t.files, t.counts, t.used, t.kinds, t.fp = p.files, p.counts, p.used, p.kinds, p.fp
	// Readers of the committed memdb see what the prepared snapshot saw.
	snap := t.snapshotOf(t.db.Txn(false), p.files, p.counts, p.used, p.kinds, p.fp, p.snap.stats.FilesParsed)
	snap.added, snap.stats.Notices = p.snap.added, p.snap.stats.Notices
	t.cur.Store(snap)
	return snap
}

// Abort drops the prepared rules: the table stays as it was before Prepare.
func (p *Prepared) Abort() {
	if p.done {
		return
	}
	p.done = true
	p.txn.Abort()
	p.t.mu.Unlock()
}

// parsedFile is one rule file a load reads.
type parsedFile struct {
	path  string
	stat  fileStat
	old   []*compiled // the rules of the file's last successful load
	rules []*compiled
	errs  []error // problems of single rules
	err   error   // the file could not be read

	notices []Notice // what the file's parser accepted but an admin should know

	// Parsing only the changed lines (incremental.go): the line index of the last load and
	// of the bytes read now, and, when only the changed lines were parsed, which old rules
	// they replace (rules are then theirs alone).
	prev, lines *lineIndex
	changed     *changedRegion
}

// parseFiles reads and parses files, each up to limit bytes, as many at a time as there are
// CPUs.
func parseFiles(files []*parsedFile, limit int64) {
	work := make(chan *parsedFile)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Go(func() {
			for f := range work {
				f.parse(limit)
			}
		})
	}
	for _, f := range files {
		work <- f
	}
	close(work)
	wg.Wait()
}

func (f *parsedFile) parse(limit int64) {
	if f.parseChanged(limit) {
		return
	}
	b, err := ReadFile(f.path, limit)
	if err != nil {
		f.err = fileError(f.path, "reading the rule file", err)
		return
	}
	f.index(b)
	if isCSV(f.path) {
		f.rules, f.notices, f.errs = parseCSV(f.path, b)
	} else {
		f.rules, f.errs = parseNative(f.path, string(b), f.old)
	}
}

// fileError is a *LoadError for a file or directory that cannot be read, without repeating
// its path: "/etc/edgerewrite/rules/a.rules: reading the rule file: permission denied".
func fileError(path, doing string, err error) *LoadError {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		err = pe.Err
	}
	return &LoadError{Pos: Position{File: path}, Err: fmt.Errorf("%s: %w", doing, err)}
}

// ruleFiles lists the rule files of dir, sorted by name: every name a rule file would have,
// whatever it names (Load refuses what is not a regular file, naming it).
func ruleFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !(isCSV(name) || hasExt(name, ".rules")) {
			continue
		}
		paths = append(paths, filepath.Join(dir, name))
	}
	return paths, nil
}

// diffRules compares the rules a file had with those it has now, both in line order. kept is
// the file's new rule list, reusing the old *compiled of every rule that did not change
// (same line, same content); removed and added are the rest.
func diffRules(old, cur []*compiled) (kept, removed, added []*compiled) {
	kept = make([]*compiled, 0, len(cur))
	i, j := 0, 0
	for i < len(old) || j < len(cur) {
		switch {
		case j == len(cur) || (i < len(old) && old[i].Pos.Line < cur[j].Pos.Line):
			removed = append(removed, old[i])
			i++
		case i == len(old) || cur[j].Pos.Line < old[i].Pos.Line:
			added = append(added, cur[j])
			kept = append(kept, cur[j])
			j++
		default:
			if old[i] == cur[j] || sameRule(&old[i].Rule, &cur[j].Rule) {
				kept = append(kept, old[i])
			} else {
				removed = append(removed, old[i])
				added = append(added, cur[j])
				kept = append(kept, cur[j])
			}
			i, j = i+1, j+1
		}
	}
	return kept, removed, added
}
