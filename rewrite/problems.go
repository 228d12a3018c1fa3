package rewrite

import (
	"errors"
	"fmt"
	"log/slog"
)

// MaxFileProblems is how many problems of one rule file a load reports one by one. A broken
// file is usually broken the same way on every line (a wrong delimiter, a file of duplicates):
// the first problems tell the admin what to fix, and a reload attempt of a file of 100 000 bad
// lines must not write 100 000 log lines (journald's rate limit would then drop the lines of
// the mail flow).
const MaxFileProblems = 20

// MoreProblems stands for the problems of one file beyond the first MaxFileProblems; a load
// returns it as the Err of the file's last *LoadError: "a.rules: and 99980 more problems in
// this file".
type MoreProblems struct {
	// N is the number of problems not reported one by one.
	N int
}

func (e *MoreProblems) Error() string {
	if e.N == 1 {
		return "and 1 more problem in this file"
	}
	return fmt.Sprintf("and %d more problems in this file", e.N)
}

func moreProblems(file string, n int) *LoadError {
	return &LoadError{Pos: Position{File: file}, Err: &MoreProblems{N: n}}
}

// addProblems appends errs, problems of the file named file, to list: in full up to
// MaxFileProblems, then only counted in a trailing *MoreProblems. Parsers collect their
// problems with it, so that a file of bad lines costs memory for its first problems only.
func addProblems(list []error, file string, errs ...error) []error {
	for _, e := range errs {
		switch {
		case len(list) < MaxFileProblems:
			list = append(list, e)
		case len(list) == MaxFileProblems:
			list = append(list, moreProblems(file, 1))
		default:
			list[len(list)-1].(*LoadError).Err.(*MoreProblems).N++
		}
	}
	return list
}

// boundProblems keeps, of errs sorted by sortErrors, the first MaxFileProblems of each file
// and replaces the rest of that file (and any *MoreProblems a parser returned) by one
// *MoreProblems at the end of the file's problems.
func boundProblems(errs []error) []error {
	out := errs[:0:0]
	for i := 0; i < len(errs); {
		file := problemPos(errs[i]).File
		kept, more := 0, 0
		for ; i < len(errs) && problemPos(errs[i]).File == file; i++ {
			var mp *MoreProblems
			switch {
			case errors.As(errs[i], &mp):
				more += mp.N
			case kept < MaxFileProblems:
				out = append(out, errs[i])
				kept++
			default:
				more++
			}
		}
		if more > 0 {
			out = append(out, moreProblems(file, more))
		}
	}
	return out
}

// boundNotices keeps, of notices sorted by file, the first MaxFileProblems of each file and
// replaces the rest by one notice counting them, at the level of the most severe: a CSV of
// 100,000 rows sharing one Name logs 21 lines per reload, not 100,000.
func boundNotices(ns []Notice) []Notice {
	out := ns[:0:0]
	for i := 0; i < len(ns); {
		file := ns[i].Pos.File
		kept, more, level := 0, 0, slog.LevelInfo
		for ; i < len(ns) && ns[i].Pos.File == file; i++ {
			if kept < MaxFileProblems {
				out = append(out, ns[i])
				kept++
				continue
			}
			more++
			level = max(level, ns[i].Level)
		}
		if more > 0 {
			out = append(out, noticeAt(Position{File: file}, level, "and %d more %s in this file", more, pluralWord(more, "notice", "notices")))
		}
	}
	return out
}

// ProblemCount returns how many problems the error of a load holds, the ones it does not
// report one by one included (for a metric or the summary line of `edgerewrite check`).
func ProblemCount(err error) int {
	if err == nil {
		return 0
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		n := 0
		for _, e := range j.Unwrap() {
			n += ProblemCount(e)
		}
		return n
	}
	var mp *MoreProblems
	if errors.As(err, &mp) {
		return mp.N
	}
	return 1
}

// clipArg cuts a long string or error text given to an error message (clipForError), so that
// a 1 MB bad line is not echoed whole to the log, once per reload attempt.
func clipArg(a any) any {
	switch v := a.(type) {
	case string:
		return clipForError(v)
	case error:
		if s := v.Error(); clipForError(s) != s {
			return &clippedError{err: v}
		}
	}
	return a
}

// clippedError shows a long error text cut, and still unwraps to the error.
type clippedError struct{ err error }

func (e *clippedError) Error() string { return clipForError(e.err.Error()) }
func (e *clippedError) Unwrap() error { return e.err }
