package rewrite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// editLines is a file of n rules (about 50 bytes a line, so many index blocks), native or CSV,
// as lines without line ends.
func editLines(format string, n int) []string {
	var lines []string
	if format == "csv" {
		lines = append(lines, "#TYPE Microsoft.Exchange.Data.Directory.SystemConfiguration.AddressRewriteEntry",
			`"Name","InternalAddress","ExternalAddress","OutboundOnly","ExceptionList"`)
	}
	for i := range n {
		lines = append(lines, editLine(format, i, fmt.Sprintf("first.last%05d", i)))
	}
	return lines
}

// userAt is the user of line index i of editLines.
func userAt(format string, i int) int {
	if format == "csv" {
		return i - 2
	}
	return i
}

func editLine(format string, user int, external string) string {
	if format == "csv" {
		return fmt.Sprintf(`"u%05d","user%05d@tenanta.contoso.com","%s@contoso.com","False",""`, user, user, external)
	}
	return fmt.Sprintf("user%05d@tenanta.contoso.com %s@contoso.com", user, external)
}

// TestIncrementalLoadMatchesFullLoad edits a large file in many ways and checks that the
// table that re-parsed only the changed lines holds exactly the rules (with their lines) and
// reports exactly the errors of a table that parsed the edited file whole, and whether the
// edit was parsed on its own or the file whole.
func TestIncrementalLoadMatchesFullLoad(t *testing.T) {
	const n = 3000    // 150 KB: about 40 index blocks
	const mid = n / 2 // a line index; in the CSV file it holds user mid-2
	tests := []struct {
		name   string
		edit   func(format string, lines []string) []string
		region bool   // parsed on its own (else the whole file)
		err    string // the load fails with this error ("" = none)
	}{
		{"nothing", func(_ string, l []string) []string { return l }, true, ""},
		{"one line, longer", func(f string, l []string) []string {
			l[mid] = editLine(f, userAt(f, mid), "renamed.someone.else")
			return l
		}, true, ""},
		{"one line, shorter", func(f string, l []string) []string {
			l[mid] = editLine(f, userAt(f, mid), "x")
			return l
		}, true, ""},
		{"two distant lines", func(f string, l []string) []string {
			l[100] = editLine(f, userAt(f, 100), "a")
			l[n-100] = editLine(f, userAt(f, n-100), "b")
			return l
		}, true, ""},
		{"last line", func(f string, l []string) []string {
			l[len(l)-1] = editLine(f, n-1, "last")
			return l
		}, true, ""},
		{"appended lines", func(f string, l []string) []string {
			return append(l, editLine(f, n, "new1"), editLine(f, n+1, "new2"))
		}, true, ""},
		{"appended more lines than keepTail holds", func(f string, l []string) []string {
			for u := n; u < n+25_000; u++ {
				l = append(l, editLine(f, u, fmt.Sprintf("appended%05d", u)))
			}
			return l
		}, true, ""},
		{"all rules removed but the first hundred", func(_ string, l []string) []string { return l[:len(l)-n+100] }, true, ""},
		{"removed last lines", func(_ string, l []string) []string { return l[:len(l)-3] }, true, ""},
		{"a line turned into a comment or blank", func(f string, l []string) []string {
			if f == "csv" {
				l[mid] = ""
			} else {
				l[mid] = "# " + l[mid]
			}
			return l
		}, true, ""},
		{"a bad line", func(f string, l []string) []string {
			if f == "csv" {
				l[mid] = `"bad","not an address","x@contoso.com","False",""`
			} else {
				l[mid] = "not-an-address x@contoso.com"
			}
			return l
		}, true, "malformed address"},
		{"a duplicate of another line", func(f string, l []string) []string {
			l[mid] = editLine(f, 10, "dup")
			return l
		}, true, "also the internal side"},
		{"an inserted line", func(f string, l []string) []string {
			return append(l[:mid:mid], append([]string{editLine(f, n+5, "inserted")}, l[mid:]...)...)
		}, false, ""},
		{"a removed line", func(_ string, l []string) []string {
			return append(l[:mid:mid], l[mid+1:]...)
		}, false, ""},
	}
	for _, format := range []string{"native", "csv"} {
		for _, tt := range tests {
			t.Run(format+"/"+tt.name, func(t *testing.T) {
				checkIncremental(t, format, editLines(format, n), tt.edit, tt.region, tt.err)
			})
		}
	}
	// CSV only: a change of the header re-parses the file whole, as does a quoted field that
	// spans lines (its record's lines are not each a record).
	t.Run("csv/header", func(t *testing.T) {
		checkIncremental(t, "csv", editLines("csv", n), func(_ string, l []string) []string {
			l[1] = `"Name","InternalAddress","ExternalAddress","OutboundOnly"`
			return l
		}, false, "")
	})
	t.Run("csv/field spanning lines", func(t *testing.T) {
		checkIncremental(t, "csv", editLines("csv", n), func(_ string, l []string) []string {
			l[mid] = `"two` + "\n" + `lines","user99999@tenanta.contoso.com","x@contoso.com","False",""`
			return l
		}, false, "")
	})
	// Past keepTail after a change, the bytes read are hashed but not kept: a single change
	// early in a large file is parsed on its own, a second one far after it makes the file
	// parsed whole. Where the first change moves the bytes after it and the second moves them
	// back, every block between differs, and the lines between are parsed as one region.
	const big = 40_000 // 2 MB
	for _, format := range []string{"native", "csv"} {
		t.Run(format+"/large file, one early change", func(t *testing.T) {
			checkIncremental(t, format, editLines(format, big), func(f string, l []string) []string {
				l[50] = editLine(f, userAt(f, 50), "early")
				return l
			}, true, "")
		})
		t.Run(format+"/large file, changes far apart", func(t *testing.T) {
			checkIncremental(t, format, editLines(format, big), func(f string, l []string) []string {
				// The same length as first.lastNNNNN: the bytes between stay where they were.
				l[50] = editLine(f, userAt(f, 50), fmt.Sprintf("first.edit%05d", userAt(f, 50)))
				l[big-50] = editLine(f, userAt(f, big-50), fmt.Sprintf("first.edit%05d", userAt(f, big-50)))
				return l
			}, false, "")
		})
		t.Run(format+"/large file, changes far apart, the first moves the lines after it", func(t *testing.T) {
			checkIncremental(t, format, editLines(format, big), func(f string, l []string) []string {
				l[50] = editLine(f, userAt(f, 50), "early")
				l[big-50] = editLine(f, userAt(f, big-50), "late.and.longer.than.before")
				return l
			}, true, "")
		})
	}
	t.Run("native/first line with a byte order mark", func(t *testing.T) {
		checkIncremental(t, "native", editLines("native", n), func(f string, l []string) []string {
			l[0] = "\uFEFF" + editLine(f, 0, "bom")
			return l
		}, true, "")
	})
}

// checkIncremental loads lines, edits them, loads again, and compares with a fresh load.
func checkIncremental(t *testing.T, format string, lines []string, edit func(string, []string) []string, region bool, wantErr string) {
	t.Helper()
	name := "export.rules"
	if format == "csv" {
		name = "export.csv"
	}
	eol := "\n"
	if format == "csv" {
		eol = "\r\n"
	}
	dir := t.TempDir()
	path := filepath.Join(dir, name)
	write := func(lines []string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(strings.Join(lines, eol)+eol), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(lines)
	inc := NewTable(Options{RecipientDelimiter: "+"})
	if _, err := inc.Load(dir); err != nil {
		t.Fatal(err)
	}
	before := inc.files[path]
	write(edit(format, append([]string(nil), lines...)))
	// The same size and mtime would look unchanged: move the mtime on.
	mtime := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	pf := &parsedFile{path: path, stat: statOf(fi), old: before.rules, prev: before.lines}
	if got := pf.parseChanged(0); got != region {
		t.Errorf("parsed the changed lines on their own: %v, want %v", got, region)
	}

	_, incErr := inc.Load(dir)
	full := NewTable(Options{RecipientDelimiter: "+"})
	_, fullErr := full.Load(dir)
	// A rule that duplicates another is reported at the changed line when only that was
	// parsed, and at the later of the two when the file is parsed whole: the same lines.
	if errorLines(incErr) != errorLines(fullErr) {
		t.Fatalf("errors differ:\nincremental: %v\nwhole file:  %v", incErr, fullErr)
	}
	if wantErr == "" && incErr != nil || wantErr != "" && (incErr == nil || !strings.Contains(incErr.Error(), wantErr)) {
		t.Fatalf("error %v, want %q", incErr, wantErr)
	}
	if incErr != nil {
		var le *LoadError
		if !errors.As(incErr, &le) || le.Pos.Line == 0 {
			t.Errorf("error without a line: %v", incErr)
		}
		if inc.files[path] != before {
			t.Error("a failed load changed the file's state")
		}
		return
	}
	got, want := inc.files[path].rules, full.files[path].rules
	if len(got) != len(want) {
		t.Fatalf("%d rules, a whole-file load has %d", len(got), len(want))
	}
	for i := range got {
		if !sameRule(&got[i].Rule, &want[i].Rule) {
			t.Fatalf("rule %d: %+v, a whole-file load has %+v", i, got[i].Rule, want[i].Rule)
		}
	}
	if a, b := inc.Snapshot().Stats(), full.Snapshot().Stats(); a.Rules != b.Rules {
		t.Errorf("%d rules in service, a whole-file load serves %d", a.Rules, b.Rules)
	}
	// The index of the edited file serves the next edit: undo it.
	write(lines)
	mtime = mtime.Add(time.Hour)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if _, err := inc.Load(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := full.Load(dir); err != nil {
		t.Fatal(err)
	}
	got, want = inc.files[path].rules, full.files[path].rules
	for i := range min(len(got), len(want)) {
		if !sameRule(&got[i].Rule, &want[i].Rule) {
			t.Fatalf("after undoing the edit, rule %d: %+v, want %+v", i, got[i].Rule, want[i].Rule)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("after undoing the edit: %d rules, want %d", len(got), len(want))
	}
}

var errorLineRE = regexp.MustCompile(`\.(?:rules|csv):\d+`)

// errorLines are the file positions an error names, sorted.
func errorLines(err error) string {
	if err == nil {
		return ""
	}
	pos := errorLineRE.FindAllString(err.Error(), -1)
	slices.Sort(pos)
	return strings.Join(pos, " ")
}

// FuzzIncrementalLoad edits a file of a few index blocks at a fuzzed place with fuzzed bytes:
// whatever the edit, the table that loaded the file before and after it holds the rules, or
// reports errors at the lines, of a table that loads only the edited file.
func FuzzIncrementalLoad(f *testing.F) {
	f.Add(true, uint16(7000), uint8(3), "x")
	f.Add(false, uint16(9000), uint8(0), "user99999@tenanta.contoso.com a@contoso.com\n")
	f.Add(true, uint16(100), uint8(40), "\"q\",\"")
	f.Add(false, uint16(15000), uint8(200), "")
	f.Fuzz(func(t *testing.T, csv bool, at uint16, del uint8, ins string) {
		format, name := "native", "export.rules"
		if csv {
			format, name = "csv", "export.csv"
		}
		base := []byte(strings.Join(editLines(format, 400), "\n") + "\n")
		pos := int(at) % (len(base) + 1)
		edited := append(append(append([]byte(nil), base[:pos]...), ins...), base[min(pos+int(del), len(base)):]...)

		dir := t.TempDir()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, base, 0o644); err != nil {
			t.Fatal(err)
		}
		inc := NewTable(Options{RecipientDelimiter: "+"})
		if _, err := inc.Load(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, edited, 0o644); err != nil {
			t.Fatal(err)
		}
		mtime := time.Now().Add(time.Hour)
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		_, incErr := inc.Load(dir)
		full := NewTable(Options{RecipientDelimiter: "+"})
		_, fullErr := full.Load(dir)
		if (incErr == nil) != (fullErr == nil) || errorLines(incErr) != errorLines(fullErr) {
			t.Fatalf("errors differ:\nincremental: %v\nwhole file:  %v", incErr, fullErr)
		}
		if incErr != nil {
			return
		}
		got, want := inc.files[path].rules, full.files[path].rules
		if len(got) != len(want) {
			t.Fatalf("%d rules, a whole-file load has %d", len(got), len(want))
		}
		for i := range got {
			if !sameRule(&got[i].Rule, &want[i].Rule) {
				t.Fatalf("rule %d: %+v, a whole-file load has %+v", i, got[i].Rule, want[i].Rule)
			}
		}
	})
}
