package rewrite

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"testing"
)

// TestProblemsBounded loads files with many problems: each file reports its first
// MaxFileProblems one by one and then one line counting the rest, ProblemCount still gives
// the full number, and no problem quotes a long value whole.
func TestProblemsBounded(t *testing.T) {
	many := func(n int, line func(i int) string) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(line(i) + "\n")
		}
		return b.String()
	}
	cases := []struct {
		name  string
		files map[string]string
		lines map[string]int // file -> problem lines reported for it
		more  map[string]int // file -> the N of its "and N more problems"
		total int
		is    error
	}{
		{
			name:  "100k duplicate lines",
			files: map[string]string{"dup.rules": many(100_000, func(int) string { return "a@x.example a@y.example" })},
			lines: map[string]int{"dup.rules": MaxFileProblems + 1},
			more:  map[string]int{"dup.rules": 99_999 - MaxFileProblems},
			total: 99_999,
			is:    ErrDuplicate,
		},
		{
			name:  "100k malformed lines",
			files: map[string]string{"bad.rules": many(100_000, func(i int) string { return fmt.Sprintf("junk%d", i) })},
			lines: map[string]int{"bad.rules": MaxFileProblems + 1},
			more:  map[string]int{"bad.rules": 100_000 - MaxFileProblems},
			total: 100_000,
			is:    ErrSyntax,
		},
		{
			name: "bounded per file, CSV too",
			files: map[string]string{
				"a.rules": many(30, func(i int) string { return fmt.Sprintf("a%d@x.example", i) }),
				"b.csv":   "InternalAddress,ExternalAddress,OutboundOnly\n" + many(25, func(i int) string { return fmt.Sprintf("b%d@x.example,b@y.example,maybe", i) }),
				"c.rules": many(3, func(i int) string { return "bad" }),
			},
			lines: map[string]int{"a.rules": MaxFileProblems + 1, "b.csv": MaxFileProblems + 1, "c.rules": 3},
			more:  map[string]int{"a.rules": 10, "b.csv": 5},
			total: 58,
			is:    ErrSyntax,
		},
		{
			name:  "exactly the bound",
			files: map[string]string{"a.rules": many(MaxFileProblems, func(i int) string { return "bad" })},
			lines: map[string]int{"a.rules": MaxFileProblems},
			total: MaxFileProblems,
			is:    ErrSyntax,
		},
		{
			name:  "a 1 MB line",
			files: map[string]string{"long.rules": "a@x.example " + strings.Repeat("b", 1<<20) + "@y.example\n" + strings.Repeat("c", 1<<20) + "\n"},
			lines: map[string]int{"long.rules": 2},
			total: 2,
			is:    ErrBadAddress,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeDir(t, dir, tc.files)
			_, err := NewTable(Options{}).Load(dir)
			got := loadErrors(t, err, dir)
			lines, more := map[string]int{}, map[string]int{}
			for _, l := range got {
				file, _, _ := strings.Cut(l, ":")
				lines[file]++
				if len(l) > 1000 {
					t.Errorf("problem of %d bytes: %.100q...", len(l), l)
				}
				var n int
				if _, err := fmt.Sscanf(l[len(file):], ": and %d more problems in this file", &n); err == nil {
					more[file] = n
				}
			}
			if !maps.Equal(lines, tc.lines) || !maps.Equal(more, tc.more) {
				t.Errorf("problem lines per file %v, more %v; want %v, more %v", lines, more, tc.lines, tc.more)
			}
			if n := ProblemCount(err); n != tc.total {
				t.Errorf("ProblemCount %d, want %d", n, tc.total)
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(err, %v) is false", tc.is)
			}
		})
	}
}

// TestProblemsSortedLast: a file's count of further problems comes after its reported ones,
// even though it carries no line number.
func TestProblemsSortedLast(t *testing.T) {
	errs := addProblems(nil, "a", errAt("a", 1, ErrSyntax, ""))
	for i := range MaxFileProblems + 5 {
		errs = addProblems(errs, "b", errAt("b", i+1, ErrSyntax, ""))
	}
	errs = append(errs, errAt("b", 7, ErrDuplicate, ""), errAt("a", 2, ErrSyntax, ""))
	sortErrors(errs)
	errs = boundProblems(errs)
	var got []string
	for _, e := range errs {
		got = append(got, filepath.Base(e.Error()))
	}
	if len(got) != 2+MaxFileProblems+1 || got[len(got)-1] != "b: and 6 more problems in this file" || !strings.HasPrefix(got[1], "a:2:") {
		t.Errorf("got %q", got)
	}
}

// TestNoticesBounded: a CSV whose 30,000 rows share one Name yields a bounded number of
// notices, the last counting the rest.
func TestNoticesBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("Name,InternalAddress,ExternalAddress\n")
	for i := range 30_000 {
		fmt.Fprintf(&b, "same,u%d@tenanta.contoso.com,u%d@contoso.com\n", i, i)
	}
	dir := t.TempDir()
	writeDir(t, dir, map[string]string{"export.csv": b.String()})
	st, err := NewTable(Options{}).Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(st.Notices); n == 0 || n > MaxFileProblems+1 {
		t.Fatalf("%d notices, want 1 to %d", n, MaxFileProblems+1)
	}
	if last := st.Notices[len(st.Notices)-1].String(); !strings.Contains(last, "more notices in this file") {
		t.Errorf("last notice %q, want one counting the rest", last)
	}
}
