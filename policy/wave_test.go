package policy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/rewrite"
)

// loadWaves loads a testdata/waves directory into the two-tenants policy.
func loadWaves(t *testing.T, dir string) (*Policy, error) {
	t.Helper()
	var l WaveLoader
	w, err := l.Load(filepath.Join("testdata", "waves", dir))
	if err != nil {
		return nil, err
	}
	return load(t, "two-tenants.toml", func(c *Config) { c.RecipientDelimiter = "+" }).WithWaves(w)
}

func TestWaveVerdicts(t *testing.T) {
	p, err := loadWaves(t, "ok")
	if err != nil {
		t.Fatal(err)
	}
	in := at(t, "2026-11-23T21:00:00Z")
	for _, c := range []struct {
		rcpt   string
		now    time.Time
		action Action
		source string
	}{
		{"anna@fabrikam.com", in, Hold, "wave-07.cutover:3"},
		{"ANNA+news@Fabrikam.com", in, Hold, "wave-07.cutover:3"},
		{"anna@fabrikam.com", at(t, "2026-11-24T06:00:00Z"), Accept, ""},
		{"bob@fabrikam.com", in, Tempfail, "wave-07.cutover:4"},
		{"bob@fabrikam.com", at(t, "2026-11-23T19:59:59Z"), Accept, ""},
		{"carl@xn--bcher-kva.example", in, Hold, "wave-07.cutover:6"},
		{"CARL@BÜCHER.example", in, Hold, "wave-07.cutover:6"},
		{`"john smith"@fabrikam.com`, in, Hold, "wave-07.cutover:7"},
		{"x@sales.fabrikam.com", at(t, "2026-11-25T21:00:00Z"), Tempfail, "wave-08.cutover:1"},
		{"x@sales.fabrikam.com", in, Accept, ""},
		{"other@fabrikam.com", in, Accept, ""},
		// A [[cutover]] table still decides as before, with no source.
		{"ceo@tenantb.contoso.com", at(t, "2026-11-23T23:00:00Z"), Hold, ""},
	} {
		t.Run(c.rcpt+"@"+c.now.Format(time.RFC3339), func(t *testing.T) {
			var v Verdict
			if r := p.Recipient(Class{Outbound: true, Tenant: "tenant-a"}, c.rcpt, false, c.now); r.Verdict.Action != Accept {
				v = r.Verdict
			} else {
				v = p.Message(Class{}, Message{From: "", Rcpts: []string{c.rcpt}}, c.now).Verdict
			}
			if v.Action != c.action || v.Source != c.source {
				t.Errorf("verdict %v from %q, want %v from %q", v, v.Source, c.action, c.source)
			}
			if c.source != "" && v.Action == Hold && !strings.HasPrefix(v.Text, "wave "+c.source+" ") {
				t.Errorf("hold reason %q does not name the wave entry %s", v.Text, c.source)
			}
		})
	}
}

func TestWaveFileProblems(t *testing.T) {
	_, err := loadWaves(t, "bad")
	if err == nil {
		t.Fatal("a file with bad lines loaded")
	}
	path := filepath.Join("testdata", "waves", "bad", "wave-09.cutover")
	want := map[int]error{3: ErrBadValue, 4: ErrMissing, 5: ErrBadValue, 6: ErrWindow, 7: ErrBadValue}
	got := map[int]bool{}
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *FileError
		if !errors.As(e, &fe) || fe.File != path {
			t.Errorf("problem %v is not a FileError of %s", e, path)
			continue
		}
		got[fe.Line] = true
		if kind, ok := want[fe.Line]; !ok || !errors.Is(e, kind) {
			t.Errorf("%v: want line in %v with its kind", e, want)
		}
		if !strings.HasPrefix(e.Error(), fmt.Sprintf("%s:%d: ", path, fe.Line)) {
			t.Errorf("%q does not start with file:line", e.Error())
		}
	}
	for line := range want {
		if !got[line] {
			t.Errorf("no problem reported for line %d; got %v", line, err)
		}
	}
}

func TestWaveOverlaps(t *testing.T) {
	_, err := loadWaves(t, "clash")
	if err == nil {
		t.Fatal("overlapping entries loaded")
	}
	for _, want := range []string{
		"b.cutover:2: its window overlaps that of a.cutover:1",
		"b.cutover:3: its window overlaps that of cutover #2",
	} {
		if !strings.Contains(err.Error(), want) || !errors.Is(err, ErrDuplicate) {
			t.Errorf("%v\ndoes not say %q", err, want)
		}
	}
}

// TestWaveErrorsBounded: a file of bad lines reports rewrite.MaxFileProblems of them and a count.
func TestWaveErrorsBounded(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := range 500 {
		fmt.Fprintf(&b, "user%d@fabrikam.com,later\n", i)
	}
	writeFile(t, filepath.Join(dir, "w.cutover"), b.String())
	var l WaveLoader
	_, err := l.Load(dir)
	errs := err.(interface{ Unwrap() []error }).Unwrap()
	if len(errs) != rewrite.MaxFileProblems+1 || !strings.HasSuffix(err.Error(), "and 480 more problems in this file") {
		t.Errorf("%d problems reported, ending %q", len(errs), errs[len(errs)-1])
	}
	if n := rewrite.ProblemCount(err); n != 500 {
		t.Errorf("ProblemCount %d, want 500", n)
	}
}

// TestWaveLoaderIncremental: an unchanged file is not parsed again; an edited one is, and a
// removed one is gone.
func TestWaveLoaderIncremental(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.cutover"), filepath.Join(dir, "b.cutover")
	writeFile(t, a, "anna@fabrikam.com,hold\n")
	writeFile(t, b, "bob@fabrikam.com,hold\n")
	var l WaveLoader
	w1, err := l.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, b, "bob@fabrikam.com,defer\ncarl@fabrikam.com,defer\n")
	w2, err := l.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if w1.files[0] != w2.files[0] {
		t.Error("the unchanged a.cutover was parsed again")
	}
	if w2.files[1] == w1.files[1] || w2.Entries() != 3 {
		t.Errorf("the edited b.cutover was not read again: %d entries", w2.Entries())
	}
	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	if w3, err := l.Load(dir); err != nil || w3.Entries() != 2 {
		t.Errorf("after removing a.cutover: %v entries, %v", w3.Entries(), err)
	}
}

func TestWaveSummary(t *testing.T) {
	var l WaveLoader
	w, err := l.Load(filepath.Join("testdata", "waves", "ok"))
	if err != nil {
		t.Fatal(err)
	}
	s := w.Summary(at(t, "2026-11-23T21:00:00Z"))
	if len(s) != 2 {
		t.Fatalf("summary %+v", s)
	}
	if s[0].Entries != 4 || s[0].Hold != 3 || s[0].Defer != 1 || s[0].Active != 4 ||
		!s[0].NextStart.IsZero() || !s[0].NextEnd.Equal(at(t, "2026-11-24T06:00:00Z")) {
		t.Errorf("wave-07: %+v", s[0])
	}
	if s[1].Active != 0 || !s[1].NextStart.Equal(at(t, "2026-11-25T20:00:00Z")) {
		t.Errorf("wave-08: %+v", s[1])
	}
}

func writeFile(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestParseWaveFile: the forms a file exported from a spreadsheet or a migration tool takes.
func TestParseWaveFile(t *testing.T) {
	for _, c := range []struct {
		name, file string
		want       []string // "match action start end text line" per entry
		problems   []string // substrings, one per problem
	}{
		{"positional", "anna@fabrikam.com,hold\n", []string{"anna@fabrikam.com hold - - - 1"}, nil},
		{"byte order mark and CRLF", "\ufeffmatch,action\r\nanna@fabrikam.com,HOLD\r\n",
			[]string{"anna@fabrikam.com hold - - - 2"}, nil},
		{"header in another order", "text,end,action,match\n\"moving, sorry\",2026-11-24T06:00:00Z,defer,*.Fabrikam.com\n",
			[]string{"*.fabrikam.com defer - 2026-11-24T06:00:00Z moving, sorry 2"}, nil},
		{"unknown header column", "match,action,owner\nanna@fabrikam.com,hold,x\n", nil,
			[]string{`w.cutover:1: header column 3 "owner" is not one of match, action, start, end, text`}},
		{"too many columns", "anna@fabrikam.com,hold,,,text,more\n", nil, []string{"w.cutover:1: 6 columns, 5 expected"}},
		{"bad quote", "anna@fabrikam.com,hold\n\"bob@fabrikam.com,hold\n", []string{"anna@fabrikam.com hold - - - 1"}, []string{"w.cutover:2: "}},
		{"missing action", "# c\n\nanna@fabrikam.com\n", nil, []string{`w.cutover:3: action is not set`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			entries, errs := parseWaveFile("w.cutover", "w.cutover", []byte(c.file))
			var got []string
			for _, e := range entries {
				text := e.text
				if text == "" {
					text = "-"
				}
				got = append(got, fmt.Sprintf("%s %s %s %s %s %d", e.match, action(e), timeOrDash(e.start), timeOrDash(e.end), text, e.line))
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("entries %q, want %q", got, c.want)
			}
			if len(errs) != len(c.problems) {
				t.Fatalf("problems %v, want %d", errs, len(c.problems))
			}
			for i, e := range errs {
				if !strings.Contains(e.Error(), c.problems[i]) {
					t.Errorf("problem %q does not say %q", e, c.problems[i])
				}
			}
		})
	}
}

func timeOrDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// TestWaveHeaderNotData: a first line that names columns but holds an action is an entry.
func TestWaveHeaderNotData(t *testing.T) {
	entries, errs := parseWaveFile("w.cutover", "w.cutover", []byte("match,hold,,,action\n"))
	if len(errs) > 0 || len(entries) != 1 || entries[0].match != "match" || entries[0].text != "action" {
		t.Errorf("entries %+v, problems %v", entries, errs)
	}
}

// TestWaveFingerprint: the same entries in other files, lines and spellings give the same
// fingerprint; another window or action does not.
func TestWaveFingerprint(t *testing.T) {
	fp := func(files map[string]string) string {
		t.Helper()
		dir := t.TempDir()
		for name, content := range files {
			writeFile(t, filepath.Join(dir, name), content)
		}
		var l WaveLoader
		w, err := l.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		return w.Fingerprint()
	}
	base := fp(map[string]string{"a.cutover": "anna@fabrikam.com,hold,2026-11-23T20:00:00Z\nbob@fabrikam.com,defer\n"})
	if base == "" {
		t.Fatal("no fingerprint")
	}
	if got := fp(map[string]string{"x.cutover": "# moved\nmatch,action,start\nBob@Fabrikam.com,defer\n",
		"y.cutover": "ANNA@fabrikam.com,hold,2026-11-23T21:00:00+01:00\n"}); got != base {
		t.Errorf("the same entries elsewhere: %s, want %s", got, base)
	}
	for _, other := range []string{
		"anna@fabrikam.com,hold,2026-11-23T20:00:01Z\nbob@fabrikam.com,defer\n",
		"anna@fabrikam.com,defer,2026-11-23T20:00:00Z\nbob@fabrikam.com,defer\n",
		"anna@fabrikam.com,hold,2026-11-23T20:00:00Z\n",
	} {
		if got := fp(map[string]string{"a.cutover": other}); got == base {
			t.Errorf("%q has the fingerprint of the base", other)
		}
	}
	if got := fp(nil); got != "" {
		t.Errorf("no files: fingerprint %q, want none", got)
	}
}
