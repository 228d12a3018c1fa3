package rewrite

import (
	"bytes"
	"errors"
	"hash/maphash"
	"slices"
	"unicode/utf8"
)

// An edit of a large rule file costs what the edit costs. Exchange exports arrive as one file
// of up to a million lines; re-parsing all of it for a one-line change takes most of a second.
// A load therefore keeps, per file, a line index of the bytes it parsed (lineIndex): their
// size, their line count, and the hash and line count of each block of them. The next load of
// the file hashes the new bytes block by block from the start, and from the end with the
// blocks moved by the change in size, until a block differs. That bounds the changed bytes to
// a block or two, which are widened to whole lines (the changed region); only those lines are
// parsed, and the rules of the others are kept. The table's incremental update (batch) then
// validates and applies just the rules that changed. The new index is the old one's blocks
// before and after the change and the changed bytes hashed anew, so an edit hashes each byte
// of the file once and counts only the changed lines.
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

// appendBlocks hashes and counts b[from:to] in blocks of at most indexBlock, each block
// hashed and counted while it is in the cache.
func appendBlocks(dst []indexEntry, seed maphash.Seed, b []byte, from, to int) []indexEntry {
	for off := from; off < to; off += indexBlock {
		blk := b[off:min(off+indexBlock, to)]
		dst = append(dst, indexEntry{off: off, n: len(blk), hash: maphash.Bytes(seed, blk), nl: bytes.Count(blk, []byte{'\n'})})
	}
	return dst
}

// finish sets size and lines from the blocks of b.
func (idx *lineIndex) finish(b []byte) {
	idx.size, idx.lines = len(b), 0
	for _, e := range idx.blocks {
		idx.lines += e.nl
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		idx.lines++
	}
}

func newLineIndex(seed maphash.Seed, b []byte) *lineIndex {
	idx := &lineIndex{seed: seed, blocks: appendBlocks(make([]indexEntry, 0, len(b)/indexBlock+1), seed, b, 0, len(b))}
	idx.finish(b)
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

// parseChanged indexes b, the file's new bytes, into f.lines and, when the file was loaded
// before and the change allows it, parses only the changed lines: it sets f.changed, f.rules
// to the rules of the changed lines and f.errs to their problems, and returns true. It
// returns false when the file must be parsed whole.
func (f *parsedFile) parseChanged(b []byte) bool {
	prev := f.prev
	csv := isCSV(f.path)
	full := func(idx *lineIndex) bool {
		f.lines = idx
		if csv {
			idx.header, idx.whole = csvHeaderLine(b), csvLinesWhole(b)
		}
		return false
	}
	if prev == nil {
		return full(newLineIndex(maphash.MakeSeed(), b))
	}
	// Equal bytes: the blocks from the start that hash the same, and the blocks from the end
	// that hash the same where the change in size moved them, short of overlapping.
	seed, old := prev.seed, prev.blocks
	k := 0
	for k < len(old) && old[k].off+old[k].n <= len(b) && maphash.Bytes(seed, b[old[k].off:old[k].off+old[k].n]) == old[k].hash {
		k++
	}
	pre := prev.size
	if k < len(old) {
		pre = old[k].off
	}
	d := len(b) - prev.size
	m := len(old)
	for m > k && old[m-1].off+d >= pre && maphash.Bytes(seed, b[old[m-1].off+d:old[m-1].off+d+old[m-1].n]) == old[m-1].hash {
		m--
	}
	sufStart := len(b) // where the equal trailing bytes start in b
	if m < len(old) {
		sufStart = old[m].off + d
	}
	idx := &lineIndex{seed: seed, blocks: make([]indexEntry, 0, len(old)+(sufStart-pre)/indexBlock+2)}
	idx.blocks = append(idx.blocks, old[:k]...)
	idx.blocks = appendBlocks(idx.blocks, seed, b, pre, sufStart)
	for _, e := range old[m:] {
		e.off += d
		idx.blocks = append(idx.blocks, e)
	}
	idx.finish(b)
	if len(idx.blocks) > 2*(len(b)/indexBlock+1) {
		// Many edits left many small blocks: index afresh.
		idx = newLineIndex(seed, b)
	}
	f.lines = idx

	// The changed region, in whole lines: start is a line start in both versions, and
	// b[end:], a suffix of both, starts a line.
	lo := 1
	for _, e := range old[:k] {
		lo += e.nl
	}
	start := bytes.LastIndexByte(b[:pre], '\n') + 1 // b[start:pre] holds no '\n'
	end := sufStart
	if end > start && b[end-1] != '\n' {
		if i := bytes.IndexByte(b[end:], '\n'); i >= 0 {
			end += i + 1
		} else {
			end = len(b)
		}
	}
	region := b[start:end]
	hiNew := lo - 1 + countLines(region)
	hiOld := prev.lines - (idx.lines - hiNew) // the lines after the region are the same
	if hiOld < lo-1 || prev.lines != idx.lines && len(f.old) > 0 && f.old[len(f.old)-1].Pos.Line > hiOld {
		return full(idx) // rules after the region would move to other lines
	}
	if lo > 1 && bytes.HasPrefix(region, []byte("\uFEFF")) {
		return full(idx) // a byte order mark is ignored only at the start of the file
	}
	var (
		rules []*compiled
		errs  []error
		shift int // region line k was parsed as line k+shift
	)
	switch {
	case len(region) == 0:
	case csv:
		if !prev.whole || prev.header == 0 || lo <= prev.header || !csvLinesWhole(region) {
			return full(idx)
		}
		// The header row and what precedes it, then the changed records: parsed as parseCSV
		// parses the whole file, the records' lines then moved to where they are.
		rules, errs = parseCSV(f.path, slices.Concat(b[:lineEnd(b, prev.header)], region))
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

// lineEnd returns the offset just past line n (1-based) of b.
func lineEnd(b []byte, n int) int {
	off := 0
	for ; n > 0; n-- {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			return len(b)
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
