package rewrite

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"hash/maphash"
	"io"
	"slices"
	"unicode/utf8"
)

// An edit of a large rule file costs what the edit costs. Exchange exports arrive as one file
// of up to a million lines; re-parsing all of it for a one-line change takes most of a second.
// A load therefore keeps, per file, a line index of the bytes it parsed (lineIndex): their
// size, their line count, and the hash and line count of each block of them. The next load
// reads the file as a stream (scanChanges) and hashes it block by block: the old blocks at
// their offsets until one differs, then the old blocks moved by the change in size; the last
// that differs ends the changed bytes. Those, a block or two for a one-line edit, are widened
// to whole lines (the changed region); only those lines are parsed, and the rules of the
// others are kept. The table's incremental update (batch) then validates and applies just the
// rules that changed. The new index is the old one's blocks before and after the change and
// the changed bytes hashed anew. So an edit reads and hashes each byte of the file once, keeps
// in memory only the bytes around the change (a 50 MB file read whole would be as much
// garbage per edit), and counts only the changed lines. A second change more than keepTail
// after the first makes the file parsed whole.
//
// Rules carry their line number, so the region is parsed on its own only when the lines after
// it keep their numbers: the edit leaves the line count as it was, or no rule follows the
// region (lines appended or removed at the end). Anything else, and a CSV file whose records
// may span lines or whose header is touched, is parsed whole as before.

// indexBlock is the size of the blocks a lineIndex hashes: small enough that the region
// around a one-line change stays a few hundred lines, large enough that the index of a
// 50 MB file is a few hundred KB and hashing runs at memory speed.
const indexBlock = 4 << 10

// lineIndex is what a load remembers of the bytes of one rule file.
type lineIndex struct {
	seed   maphash.Seed
	size   int
	lines  int          // as countLines counts them
	blocks []indexEntry // consecutive, covering all bytes
	// CSV files only. header is the line of the header row (0: none found). whole is true
	// when the file is UTF-8 (optionally with a BOM) and every line holds an even number of
	// '"': then no quoted field spans lines, and every record is on a line of its own.
	header int
	whole  bool
}

// indexEntry is one block of an indexed file.
type indexEntry struct {
	off, n int
	hash   uint64
	nl     int // its '\n'
}

// changedRegion is the part of a file a load parsed: old[i:j] were the rules of the changed
// lines, and parsedFile.rules are their replacements.
type changedRegion struct{ i, j int }

// appendBlocks hashes and counts b, the file's bytes from offset base on, in blocks of at
// most indexBlock, each block hashed and counted while it is in the cache.
func appendBlocks(dst []indexEntry, seed maphash.Seed, b []byte, base int) []indexEntry {
	for off := 0; off < len(b); off += indexBlock {
		blk := b[off:min(off+indexBlock, len(b))]
		dst = append(dst, indexEntry{off: base + off, n: len(blk), hash: maphash.Bytes(seed, blk), nl: bytes.Count(blk, []byte{'\n'})})
	}
	return dst
}

// finish sets size and lines from the blocks of a file of size bytes whose last byte is last.
func (idx *lineIndex) finish(size int, last byte) {
	idx.size, idx.lines = size, 0
	for _, e := range idx.blocks {
		idx.lines += e.nl
	}
	if size > 0 && last != '\n' {
		idx.lines++
	}
}

func newLineIndex(seed maphash.Seed, b []byte) *lineIndex {
	idx := &lineIndex{seed: seed, blocks: appendBlocks(make([]indexEntry, 0, len(b)/indexBlock+1), seed, b, 0)}
	var last byte
	if len(b) > 0 {
		last = b[len(b)-1]
	}
	idx.finish(len(b), last)
	return idx
}

// countLines counts the lines of b: its '\n', and a last line without one.
func countLines(b []byte) int {
	n := bytes.Count(b, []byte{'\n'})
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return n
}

// csvLinesWhole reports whether every line of b holds an even number of '"' and b is UTF-8.
func csvLinesWhole(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			i = len(b)
		}
		if bytes.Count(b[:i], []byte{'"'})%2 != 0 {
			return false
		}
		b = b[min(i+1, len(b)):]
	}
	return true
}

// csvHeaderLine returns the line of the header row of a CSV file (as parseCSV finds it: after
// a leading #TYPE line and empty lines), or 0 when there is none or the file is UTF-16.
func csvHeaderLine(b []byte) int {
	if bytes.HasPrefix(b, []byte{0xFF, 0xFE}) || bytes.HasPrefix(b, []byte{0xFE, 0xFF}) {
		return 0
	}
	b = bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF})
	for n := 1; len(b) > 0; n++ {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			i = len(b)
		}
		line := bytes.TrimSuffix(b[:i], []byte{'\r'})
		switch {
		case n == 1 && len(line) >= 5 && bytes.EqualFold(line[:5], []byte("#TYPE")):
		case len(line) > 0:
			return n
		}
		b = b[min(i+1, len(b)):]
	}
	return 0
}

// index indexes b, the whole of the file read by a full parse, into f.lines.
func (f *parsedFile) index(b []byte) {
	seed := maphash.MakeSeed()
	if f.prev != nil {
		seed = f.prev.seed
	}
	f.lines = newLineIndex(seed, b)
	if isCSV(f.path) {
		f.lines.header, f.lines.whole = csvHeaderLine(b), csvLinesWhole(b)
	}
}

// parseChanged parses only the changed lines of a file loaded before, when the change allows
// it: it reads the file as it streams past, keeping only the bytes around the change, sets
// f.lines to the new bytes' index, f.changed, f.rules to the rules of the changed lines and
// f.errs to their problems, and returns true. It returns false when the file must be read and
// parsed whole (parse and index).
func (f *parsedFile) parseChanged(limit int64) bool {
	prev := f.prev
	if prev == nil {
		return false
	}
	sc, ok := scanChanges(f.path, f.stat.size, prev, limit)
	if !ok {
		return false
	}
	seed, old := prev.seed, prev.blocks
	win, base := sc.win, sc.winBase // the new bytes [base, base+len(win))
	pre, sufStart := sc.pre, sc.suf
	if sufStart < pre || sufStart-base > len(win) {
		return false // not expected: the changed bytes are always kept
	}
	idx := &lineIndex{seed: seed, blocks: make([]indexEntry, 0, len(old)+(sufStart-pre)/indexBlock+2)}
	idx.blocks = append(idx.blocks, old[:sc.k]...)
	idx.blocks = appendBlocks(idx.blocks, seed, win[pre-base:sufStart-base], pre)
	d := sc.size - prev.size
	for _, e := range old[sc.m:] {
		e.off += d
		idx.blocks = append(idx.blocks, e)
	}
	idx.finish(sc.size, sc.last)
	if len(idx.blocks) > 2*(sc.size/indexBlock+1) {
		return false // many edits left many small blocks: index afresh
	}

	// The changed region, in whole lines: start is a line start in both versions, and the
	// bytes from end on, a suffix of both, start a line.
	lo := 1
	for _, e := range old[:sc.k] {
		lo += e.nl
	}
	nl := bytes.LastIndexByte(win[:pre-base], '\n')
	if nl < 0 && base > 0 {
		return false // a line longer than a block: its start was not kept
	}
	start := base + nl + 1 // no '\n' from start to pre
	end := sufStart
	if end > start && win[end-1-base] != '\n' {
		i := bytes.IndexByte(win[end-base:], '\n')
		switch {
		case i >= 0:
			end += i + 1
		case base+len(win) == sc.size:
			end = sc.size
		default:
			return false // the line's end was not kept
		}
	}
	region := win[start-base : end-base]
	hiNew := lo - 1 + countLines(region)
	hiOld := prev.lines - (idx.lines - hiNew) // the lines after the region are the same
	if hiOld < lo-1 || prev.lines != idx.lines && len(f.old) > 0 && f.old[len(f.old)-1].Pos.Line > hiOld {
		return false // rules after the region would move to other lines
	}
	if lo > 1 && bytes.HasPrefix(region, []byte("\uFEFF")) {
		return false // a byte order mark is ignored only at the start of the file
	}
	f.lines = idx
	var (
		rules []*compiled
		errs  []error
		shift int // region line k was parsed as line k+shift
	)
	switch {
	case len(region) == 0:
	case isCSV(f.path):
		headEnd := lineEnd(sc.head, prev.header)
		if !prev.whole || prev.header == 0 || lo <= prev.header || headEnd < 0 || !csvLinesWhole(region) {
			return false
		}
		// The header row and what precedes it, then the changed records: parsed as parseCSV
		// parses the whole file, the records' lines then moved to where they are.
		// A '?' may be a character a lossy export lost, which only the whole file can tell.
		if bytes.IndexByte(region, '?') >= 0 {
			return false
		}
		var notices []Notice
		rules, notices, errs = parseCSV(f.path, slices.Concat(sc.head[:headEnd], region))
		f.notices = notices
		shift = prev.header
	default:
		rules, errs = parseNative(f.path, string(region), nil)
	}
	idx.header, idx.whole = prev.header, prev.whole
	for _, c := range rules {
		c.Pos.Line += lo - 1 - shift
	}
	for _, err := range errs {
		var le *LoadError
		if errors.As(err, &le) && le.Pos.Line > shift {
			le.Pos.Line += lo - 1 - shift
		}
	}
	i := 0
	for i < len(f.old) && f.old[i].Pos.Line < lo {
		i++
	}
	j := i
	for j < len(f.old) && f.old[j].Pos.Line <= hiOld {
		j++
	}
	f.changed = &changedRegion{i: i, j: j}
	f.rules, f.errs = rules, errs
	return true
}

// lineEnd returns the offset just past line n (1-based) of b, -1 when b ends before.
func lineEnd(b []byte, n int) int {
	off := 0
	for ; n > 0; n-- {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			return -1
		}
		off += i + 1
	}
	return off
}

// diff compares the file's rules with those of its last load (diffRules); after a parse of
// the changed lines only the rules of those lines are compared.
func (f *parsedFile) diff() (kept, removed, added []*compiled) {
	r := f.changed
	if r == nil {
		return diffRules(f.old, f.rules)
	}
	k, removed, added := diffRules(f.old[r.i:r.j], f.rules)
	return slices.Concat(f.old[:r.i], k, f.old[r.j:]), removed, added
}

// keepTail is how many bytes after the last changed block a scan keeps: the end of the changed
// line, and later changes close by. A change further on makes the file parsed whole.
const keepTail = 1 << 20

// scan is what scanChanges found: the new file is the old one's blocks old[:k] at the same
// offsets, changed bytes from pre to suf, and the old blocks old[m:] moved by the change in size.
type scan struct {
	k, m, pre, suf int
	win            []byte // the new bytes from winBase on that were kept: pre-block..suf and more
	winBase        int
	head           []byte // the first bytes of the file (a CSV file's header)
	size           int
	last           byte // the last byte of the file
}

// scanChanges reads the file at path, expected to be size bytes, and compares it block by
// block with prev, keeping only the bytes around the change. It returns false when the file
// cannot be read this way (it changed size meanwhile, a read failed, changes lie far apart):
// the caller then reads and parses it whole.
func scanChanges(path string, size int64, prev *lineIndex, limit int64) (scan, bool) {
	// Only a regular file is read, as by ReadFile; anything else goes to the whole-file read,
	// which reports it.
	fh, _, err := openRegular(path, cmp.Or(limit, DefaultMaxFileSize))
	if err != nil {
		return scan{}, false
	}
	defer fh.Close()
	r := bufio.NewReaderSize(fh, 64<<10)
	sc := scan{size: int(size)}
	old, seed := prev.blocks, prev.seed
	d := sc.size - prev.size
	pos := 0 // bytes read
	read := func(dst []byte) bool {
		if _, err := io.ReadFull(r, dst); err != nil {
			return false
		}
		if pos < 2*indexBlock {
			sc.head = append(sc.head, dst[:min(len(dst), 2*indexBlock-pos)]...)
		}
		if len(dst) > 0 {
			sc.last = dst[len(dst)-1]
		}
		pos += len(dst)
		return true
	}
	// The equal leading blocks; the last one stays in buf (its line may go on).
	var buf, last [indexBlock]byte
	var lastN int
	for sc.k < len(old) && old[sc.k].off+old[sc.k].n <= sc.size {
		e := old[sc.k]
		if !read(buf[:e.n]) {
			return scan{}, false
		}
		if maphash.Bytes(seed, buf[:e.n]) != e.hash {
			break
		}
		buf, last, lastN = last, buf, e.n
		sc.k++
	}
	sc.pre = pos
	if sc.k < len(old) {
		sc.pre = old[sc.k].off
	}
	sc.winBase = sc.pre - lastN
	sc.win = append(append(make([]byte, 0, lastN+(pos-sc.pre)+indexBlock), last[:lastN]...), buf[:pos-sc.pre]...)
	// The blocks after, where the change in size moved them: the last that differs ends the
	// changed bytes. Bytes more than keepTail after it are read but not kept.
	sc.m = sc.k
	dropped := false
	keep := func(n int) bool { // read n more bytes, into win while they may be needed
		if !dropped && pos+n-(sc.suf) <= keepTail {
			sc.win = append(sc.win, make([]byte, n)...)
			return read(sc.win[len(sc.win)-n:])
		}
		dropped = true
		for n > 0 {
			c := min(n, len(buf))
			if !read(buf[:c]) {
				return false
			}
			n -= c
		}
		return true
	}
	sc.suf = max(pos, sc.pre)
	for m := sc.k; m < len(old); m++ {
		e := old[m]
		o := e.off + d
		if o < sc.pre {
			sc.m, sc.suf = m+1, max(sc.suf, o+e.n) // over the equal prefix: not equal moved
			continue
		}
		if o+e.n > pos && !keep(o+e.n-pos) {
			return scan{}, false
		}
		var h uint64
		switch {
		case o >= sc.winBase && o+e.n <= sc.winBase+len(sc.win):
			h = maphash.Bytes(seed, sc.win[o-sc.winBase:o+e.n-sc.winBase])
		case o+e.n == pos && e.n <= len(buf) && dropped:
			h = maphash.Bytes(seed, buf[:e.n]) // a dropped block was read whole into buf
		default:
			return scan{}, false
		}
		if h != e.hash {
			if dropped {
				return scan{}, false // a change far from the first
			}
			sc.m, sc.suf = m+1, o+e.n
		}
	}
	if pos < sc.size {
		// New bytes after every old block: changed, so kept, unless a change before them
		// was already let go.
		if dropped {
			return scan{}, false
		}
		n := sc.size - pos
		sc.win = append(sc.win, make([]byte, n)...)
		if !read(sc.win[len(sc.win)-n:]) {
			return scan{}, false
		}
	}
	if _, err := r.ReadByte(); err != io.EOF {
		return scan{}, false // the file is longer than it was a moment ago
	}
	if sc.m < len(old) {
		sc.suf = old[sc.m].off + d
	} else {
		sc.suf = sc.size
	}
	return sc, true
}
