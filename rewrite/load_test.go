package rewrite

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// copyDir copies the files of testdata directory src into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeDir(t, dst, map[string]string{e.Name(): string(b)})
	}
}

// loadErrors returns each error of a failed load, with dir stripped from file names.
func loadErrors(t *testing.T, err error, dir string) []string {
	t.Helper()
	if err == nil {
		t.Fatal("load succeeded, want errors")
	}
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var le *LoadError
		if !errors.As(e, &le) {
			t.Errorf("not a *LoadError: %v", e)
		}
		got = append(got, strings.ReplaceAll(e.Error(), dir+string(filepath.Separator), ""))
	}
	return got
}

// TestMixedDirectory loads a .rules file and an Exchange CSV into one table.
func TestMixedDirectory(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "testdata/mixed", dir)
	tb := NewTable(Options{RecipientDelimiter: "+"})
	st, err := tb.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Rules: 4, FilesParsed: 2,
		ByKind: map[Kind]int{KindAddress: 2, KindDomain: 1, KindWildcard: 1},
		ByFile: map[string]int{filepath.Join(dir, "users.rules"): 2, filepath.Join(dir, "exchange.csv"): 2}}
	if st.Rules != want.Rules || st.FilesParsed != want.FilesParsed || !maps.Equal(st.ByKind, want.ByKind) || !maps.Equal(st.ByFile, want.ByFile) {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	checkRewrites(t, tb.Snapshot(), []rewriteCase{
		{"john@tenanta.contoso.com", Outbound, "john.smith@contoso.com", 2},
		{"anna@tenanta.contoso.com", Outbound, "anna@contoso.com", 2},
		{"mary@tenanta.contoso.com", Outbound, "mary.jones@contoso.com", 3},
		{"x@lab.contoso.com", Outbound, "x@contoso.com", 3},
		{"x@legal.contoso.com", Outbound, "", 0},
		{"mary.jones@contoso.com", Inbound, "mary@tenanta.contoso.com", 3},
		{"anna@contoso.com", Inbound, "anna@tenanta.contoso.com", 2},
	})
}

// TestSameRulesBothFormats loads the same rules written natively and as Excel/PowerShell
// write a CSV, and checks every rewrite is the same.
func TestSameRulesBothFormats(t *testing.T) {
	var snaps []*Snapshot
	for _, name := range []string{"same.rules", "same.csv"} {
		dir := t.TempDir()
		b, err := os.ReadFile(filepath.Join("testdata/formats", name))
		if err != nil {
			t.Fatal(err)
		}
		writeDir(t, dir, map[string]string{name: string(b)})
		tb := NewTable(Options{RecipientDelimiter: "+"})
		if _, err := tb.Load(dir); err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, tb.Snapshot())
	}
	if a, b := snaps[0].Stats(), snaps[1].Stats(); a.Rules != 6 || a.Rules != b.Rules || !maps.Equal(a.ByKind, b.ByKind) {
		t.Fatalf("stats differ: %+v %+v", a, b)
	}
	matched := 0
	for _, addr := range []string{
		"john@tenanta.contoso.com", "John+x@TENANTA.contoso.com", "mary@tenanta.contoso.com", "anna@tenanta.contoso.com",
		"bob@tenantb.contoso.com", "x@corp.contoso.com", "x@a.corp.contoso.com", "x@lab.corp.contoso.com",
		"x@b.lab.corp.contoso.com", "x@lab2.corp.contoso.com", "x@eu.lab2.corp.contoso.com", "x@bücher.example",
		"x@xn--bcher-kva.example", "john.smith@contoso.com", "mary@contoso.com", "anna@contoso.com", "x@contoso.net",
		"x@books.example", "x@example.org", "",
	} {
		for _, d := range []Direction{Outbound, Inbound} {
			o1, r1, ok1 := snaps[0].Rewrite(addr, d)
			o2, r2, ok2 := snaps[1].Rewrite(addr, d)
			if o1 != o2 || ok1 != ok2 || (r1 == nil) != (r2 == nil) || (r1 != nil && !strings.EqualFold(r1.External, r2.External)) {
				t.Errorf("%s %q: native %q by %v, CSV %q by %v", d, addr, o1, r1, o2, r2)
			}
			if ok1 {
				matched++
			}
		}
	}
	if matched < 14 {
		t.Errorf("only %d rewrites matched; the test data should exercise every rule", matched)
	}
}

// TestBrokenDirectory checks that a directory with errors yields every error with file:line
// and changes nothing: the old snapshot stays in service.
func TestBrokenDirectory(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "testdata/mixed", dir)
	tb := NewTable(Options{RecipientDelimiter: "+"})
	before, err := tb.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	s0 := tb.Snapshot()
	copyDir(t, "testdata/broken", dir)
	for range 2 { // a rejected load leaves no state behind: the second attempt reports the same
		st, err := tb.Load(dir)
		got := loadErrors(t, err, dir)
		if want := readLines(t, "testdata/broken.errors"); !slices.Equal(got, want) {
			t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		for _, sentinel := range []error{ErrDuplicate, ErrCollision, ErrWildcardNotOutboundOnly, ErrSyntax} {
			if !errors.Is(err, sentinel) {
				t.Errorf("errors.Is(err, %v) is false", sentinel)
			}
		}
		if tb.Snapshot() != s0 || st.Rules != before.Rules || !maps.Equal(st.ByFile, before.ByFile) {
			t.Errorf("a rejected load changed the table: %+v", st)
		}
	}
	checkRewrites(t, tb.Snapshot(), []rewriteCase{{"john@tenanta.contoso.com", Outbound, "john.smith@contoso.com", 2}})
	// Fixed, it loads.
	writeDir(t, dir, map[string]string{"a.rules": "-", "b.csv": "-"})
	if st, err := tb.Load(dir); err != nil || st.Rules != before.Rules || st.FilesParsed != 0 {
		t.Errorf("after the fix: %+v %v", st, err)
	}
}

func TestLoadDirectoryProblems(t *testing.T) {
	tb := NewTable(Options{})
	_, err := tb.Load(filepath.Join(t.TempDir(), "missing"))
	var le *LoadError
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &le) || strings.Count(err.Error(), "missing") != 1 {
		t.Errorf("missing directory: %v", err)
	}
	// Only *.rules and *.csv count; hidden files, backups and other names do not.
	dir := t.TempDir()
	writeDir(t, dir, map[string]string{
		"a.rules": "a@x.example a@y.example\n", "B.CSV": "InternalAddress,ExternalAddress\nb@x.example,b@y.example\n",
		".#a.rules": "junk", "a.rules~": "junk", "notes.txt": "junk", ".rules": "junk",
	})
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := tb.Load(dir)
	if err != nil || st.Rules != 2 || st.FilesParsed != 2 {
		t.Fatalf("got %+v %v", st, err)
	}
	// A directory emptied of rule files while rules are in service is an error.
	writeDir(t, dir, map[string]string{"a.rules": "-", "B.CSV": "-"})
	_, err = tb.Load(dir)
	if got := loadErrors(t, err, dir); len(got) != 1 || !strings.Contains(got[0], "keeping the 2 rules in service") {
		t.Errorf("got %q", got)
	}
	if tb.Snapshot().Stats().Rules != 2 {
		t.Error("rules dropped")
	}
}

// step is one change to a rules directory and what the next load must do.
type step struct {
	name    string
	files   map[string]string // name -> content, "-" removes
	errs    []string          // expected errors; none: the load must succeed
	parsed  int
	rules   int
	rewrite []rewriteCase
}

func TestIncrementalLoad(t *testing.T) {
	dir := t.TempDir()
	tb := NewTable(Options{RecipientDelimiter: "+"})
	const a = "john@t.example john@c.example\nmary@t.example mary@c.example\n"
	steps := []step{
		{name: "initial", files: map[string]string{"a.rules": a, "b.csv": "InternalAddress,ExternalAddress\nt.example,c.example\n"},
			parsed: 2, rules: 3, rewrite: []rewriteCase{{"john@t.example", Outbound, "john@c.example", 1}, {"x@t.example", Outbound, "x@c.example", 2}}},
		{name: "unchanged", parsed: 0, rules: 3},
		{name: "edit one line", files: map[string]string{"a.rules": "john@t.example john.smith@c.example\nmary@t.example mary@c.example\n"},
			parsed: 1, rules: 3, rewrite: []rewriteCase{{"john@t.example", Outbound, "john.smith@c.example", 1}, {"john.smith@c.example", Inbound, "john@t.example", 1}, {"john@c.example", Inbound, "john@t.example", 2}}},
		{name: "add a file", files: map[string]string{"c.rules": "ann@t.example ann.lee@c.example\n"},
			parsed: 1, rules: 4, rewrite: []rewriteCase{{"ann@t.example", Outbound, "ann.lee@c.example", 1}}},
		{name: "remove a file", files: map[string]string{"b.csv": "-"},
			parsed: 0, rules: 3, rewrite: []rewriteCase{{"x@t.example", Outbound, "", 0}, {"ann@t.example", Outbound, "ann.lee@c.example", 1}}},
		{name: "move a rule between files", files: map[string]string{"a.rules": "john@t.example john.smith@c.example\n", "c.rules": "ann@t.example ann.lee@c.example\nmary@t.example mary@c.example\n"},
			parsed: 2, rules: 3, rewrite: []rewriteCase{{"mary@t.example", Outbound, "mary@c.example", 2}}},
		{name: "bad edit keeps the old table", files: map[string]string{"a.rules": "john@t.example john.smith@c.example\nann@t.example anna@c.example\n"},
			errs:  []string{`a.rules:2: duplicate internal side: "ann@t.example" is also the internal side at c.rules:1`},
			rules: 3, rewrite: []rewriteCase{{"ann@t.example", Outbound, "ann.lee@c.example", 1}}},
		{name: "two new files claim one key", files: map[string]string{"a.rules": "john@t.example john.smith@c.example\n", "d.rules": "x@t.example x@c.example\n", "e.rules": "y@t.example X@C.example\n"},
			errs:  []string{`e.rules:1: external side already used by another bidirectional rule (inbound would be ambiguous): "X@C.example" is also the external side of the bidirectional rule at d.rules:1`},
			rules: 3},
		{name: "fixed", files: map[string]string{"e.rules": "y@t.example y@c.example outbound-only\n"},
			parsed: 3, rules: 5, rewrite: []rewriteCase{{"x@c.example", Inbound, "x@t.example", 1}}},
		{name: "lines shift", files: map[string]string{"c.rules": "# moved down\nann@t.example ann.lee@c.example\nmary@t.example mary@c.example\n"},
			parsed: 1, rules: 5, rewrite: []rewriteCase{{"mary@t.example", Outbound, "mary@c.example", 3}}},
	}
	for _, s := range steps {
		old := tb.Snapshot()
		writeDir(t, dir, s.files)
		st, err := tb.Load(dir)
		if s.errs != nil {
			if got := loadErrors(t, err, dir); !slices.Equal(got, s.errs) {
				t.Errorf("%s: errors\n%s\nwant\n%s", s.name, strings.Join(got, "\n"), strings.Join(s.errs, "\n"))
			}
			if tb.Snapshot() != old {
				t.Errorf("%s: a rejected load replaced the snapshot", s.name)
			}
		} else if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		} else if st.FilesParsed != s.parsed {
			t.Errorf("%s: parsed %d files, want %d", s.name, st.FilesParsed, s.parsed)
		}
		if st.Rules != s.rules {
			t.Errorf("%s: %d rules, want %d", s.name, st.Rules, s.rules)
		}
		checkRewrites(t, tb.Snapshot(), s.rewrite)
	}
}

// TestReloadKeepsUnchangedRules checks that a touched file reuses its unchanged rules and that
// a snapshot taken before an edit keeps answering as before (MVCC).
func TestReloadKeepsUnchangedRules(t *testing.T) {
	tb, dir := tableOf(t, map[string]string{"a.rules": "john@t.example john@c.example\nmary@t.example mary@c.example\n"})
	before := tb.Snapshot()
	_, r1, _ := before.Rewrite("john@t.example", Outbound)
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "a.rules"), later, later); err != nil {
		t.Fatal(err)
	}
	if st, err := tb.Load(dir); err != nil || st.FilesParsed != 1 {
		t.Fatalf("%+v %v", st, err)
	}
	if _, r2, _ := tb.Snapshot().Rewrite("john@t.example", Outbound); r2 != r1 {
		t.Errorf("an unchanged rule was replaced: %p %p", r1, r2)
	}
	writeDir(t, dir, map[string]string{"a.rules": "john@t.example john.x@c.example\n"})
	if _, err := tb.Load(dir); err != nil {
		t.Fatal(err)
	}
	checkRewrites(t, before, []rewriteCase{{"john@t.example", Outbound, "john@c.example", 1}, {"mary@t.example", Outbound, "mary@c.example", 2}})
	checkRewrites(t, tb.Snapshot(), []rewriteCase{{"john@t.example", Outbound, "john.x@c.example", 1}, {"mary@t.example", Outbound, "", 0}})
	if before.Stats().Rules != 2 || tb.Snapshot().Stats().Rules != 1 {
		t.Errorf("stats: before %+v, now %+v", before.Stats(), tb.Snapshot().Stats())
	}
}
