package policy

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgerewrite/edgerewrite/rewrite"
)

// A cutover list file ("wave file") holds the [[cutover]] entries of one migration wave, one
// per line, as CSV (RFC 4180) an admin can make from a migration tool's batch export:
//
//	# wave 7: sales, moves on 23 November
//	match,action,start,end,text
//	anna@fabrikam.com,hold,2026-11-23T20:00:00Z,2026-11-24T06:00:00Z
//	sales.fabrikam.com,defer,,,sales is moving; please try again later
//
// The columns are those of [[cutover]]: match (an address, a domain or "*.domain"), action
// ("defer" or "hold"), start and end (RFC 3339 date-times, empty for an open bound) and text;
// only the first two are required. A first line naming the columns "match" and "action" is a
// header row, and then the columns may come in any order; without one they are in this order.
// Lines starting with '#' and blank lines are skipped, and a leading byte order mark (as
// spreadsheet programs write) is ignored. A field holding a comma or a quote is quoted as CSV
// has it: a quoted local part is written """John Smith""@fabrikam.com".

// WaveFileExt is the name ending of cutover list files in the rules directory.
const WaveFileExt = ".cutover"

// maxWaveFileSize bounds a cutover list file: a larger one is refused without being read. Its
// problems are bounded as a rule file's are: rewrite.MaxFileProblems of them, then how many
// more (rewrite.MoreProblems).
const maxWaveFileSize = 64 << 20

// ErrWaveFile: a cutover list file cannot be read, is too large or not a regular file.
var ErrWaveFile = errors.New("bad cutover list file")

// FileError is one problem of a cutover list file, with where it is: "wave-07.cutover:12:
// action \"hodl\" is not \"defer\" or \"hold\"". Line is 0 for the file as a whole.
type FileError struct {
	// File is the file's path as given to the loader.
	File string
	// Line is the line (from 1), 0 when the problem is the whole file's.
	Line int
	// Err says what is wrong and wraps one of the sentinels (ErrBadValue, ErrDuplicate, ...).
	Err error
}

// Error implements error.
func (e *FileError) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Err.Error()
	}
	return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *FileError) Unwrap() error { return e.Err }

// waveColumns are the column names, in order, as the header row and the errors name them.
var waveColumns = []string{"match", "action", "start", "end", "text"}

// parseWaveFile parses and compiles the cutover list file b, named name in errors and origins
// and path in FileErrors. It returns the entries in line order and every problem, at most
// rewrite.MaxFileProblems of them, then one saying how many more there were.
func parseWaveFile(path, name string, b []byte) ([]*cutover, []error) {
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	r.Comment = '#'
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	var (
		out   []*cutover
		errs  []error
		more  int
		first = true
		cols  = columns{0, 1, 2, 3, 4} // without a header row
	)
	report := func(line int, err error) {
		if len(errs) < rewrite.MaxFileProblems {
			errs = append(errs, &FileError{File: path, Line: line, Err: err})
		} else {
			more++
		}
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				report(pe.Line, &kindError{kind: ErrBadValue, err: pe.Err})
				continue
			}
			report(0, fmt.Errorf("%w: reading: %w", ErrWaveFile, err))
			break
		}
		line, _ := r.FieldPos(0)
		if first {
			first = false
			if h, ok, err := waveHeader(rec); ok {
				if err != nil {
					report(line, err)
					break
				}
				cols = h
				continue
			}
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		c, problems := waveEntry(rec, cols)
		for _, p := range problems {
			report(line, p)
		}
		if len(problems) > 0 {
			continue
		}
		c.file, c.line = name, line
		out = append(out, c)
	}
	if more > 0 {
		errs = append(errs, &FileError{File: path, Err: &rewrite.MoreProblems{N: more}})
	}
	return out, errs
}

// columns maps each of waveColumns to its position in a record, -1 for a column not there.
type columns [5]int

// waveHeader reports whether rec is a header row (it names the columns "match" and "action",
// and no field reads "defer" or "hold", as the action of an entry does) and returns the columns
// it names, or the problem with it: a name that is not a column, or a column named twice.
func waveHeader(rec []string) (columns, bool, error) {
	cols := columns{-1, -1, -1, -1, -1}
	for i, name := range rec {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "defer" || name == "hold" {
			return cols, false, nil
		}
		if j := slices.Index(waveColumns, name); j >= 0 && cols[j] < 0 {
			cols[j] = i
		}
	}
	if cols[0] < 0 || cols[1] < 0 {
		return cols, false, nil
	}
	for i, name := range rec {
		j := slices.Index(waveColumns, strings.ToLower(strings.TrimSpace(name)))
		if j < 0 || cols[j] != i {
			return cols, true, &kindError{kind: ErrBadValue, err: fmt.Errorf(
				"header column %d %q is not one of %s, or is named twice", i+1, name, strings.Join(waveColumns, ", "))}
		}
	}
	return cols, true, nil
}

// waveEntry compiles one record with compileCutover, the checks of a [[cutover]] table.
func waveEntry(rec []string, cols columns) (*cutover, []error) {
	var ps problems
	width := 0
	for _, i := range cols {
		width = max(width, i+1)
	}
	col := func(name int) string {
		if i := cols[name]; i >= 0 && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	if len(rec) > width {
		return nil, []error{&kindError{kind: ErrBadValue, err: fmt.Errorf("%d columns, %d expected (a text holding a comma is quoted: \"...\")",
			len(rec), width)}}
	}
	c := Cutover{Match: col(0), Action: strings.ToLower(col(1)), Text: col(4)}
	var bad []error
	for i, t := range []*time.Time{&c.Start, &c.End} {
		s := col(2 + i)
		if s == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			bad = append(bad, &kindError{kind: ErrBadValue, err: fmt.Errorf("%s: %q is not an RFC 3339 date-time such as 2026-11-23T20:00:00Z",
				waveColumns[2+i], s)})
			continue
		}
		*t = v
	}
	nc, ok := compileCutover(c, ps.entry("cutover", 0, ""))
	for _, e := range ps.errs {
		// The texts name their column already ("action \"hodl\" is not ...").
		var ce *ConfigError
		if errors.As(e, &ce) {
			bad = append(bad, ce.Err)
		}
	}
	if !ok || len(bad) > 0 {
		return nil, bad
	}
	return nc, nil
}
