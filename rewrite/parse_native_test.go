package rewrite

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// dumpRule is the one-line form of a parsed rule used by the .want files of testdata/good.
func dumpRule(r Rule) string {
	s := fmt.Sprintf("%d %s %s -> %s", r.Pos.Line, r.Kind, r.Internal, r.External)
	if r.OutboundOnly {
		s += " outbound-only"
	}
	if len(r.Exceptions) > 0 {
		s += " except=" + strings.Join(r.Exceptions, ",")
	}
	if r.Name != "" {
		s += fmt.Sprintf(" name=%q", r.Name)
	}
	return s
}

// parseFile parses a testdata file with the parser its extension names.
func parseFile(t *testing.T, path string) ([]Rule, []error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isCSV(path) {
		return ParseCSV(filepath.Base(path), f)
	}
	return ParseNative(filepath.Base(path), f)
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// TestParseGood parses every rule file in testdata/good and compares with its .want file.
func TestParseGood(t *testing.T) {
	files, _ := filepath.Glob("testdata/good/*")
	for _, path := range files {
		if strings.HasSuffix(path, ".want") {
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			rules, errs := parseFile(t, path)
			if len(errs) > 0 {
				t.Fatalf("unexpected errors: %v", errors.Join(errs...))
			}
			var got []string
			for _, r := range rules {
				got = append(got, dumpRule(r))
			}
			want := readLines(t, strings.TrimSuffix(path, filepath.Ext(path))+".want")
			if !slices.Equal(got, want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestParseBad parses every rule file in testdata/bad and compares every error, in order,
// with its .errors file.
func TestParseBad(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*")
	for _, path := range files {
		if strings.HasSuffix(path, ".errors") {
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			_, errs := parseFile(t, path)
			var got []string
			for _, err := range errs {
				var le *LoadError
				if !errors.As(err, &le) {
					t.Errorf("%v is not a *LoadError", err)
				}
				got = append(got, err.Error())
			}
			want := readLines(t, strings.TrimSuffix(path, filepath.Ext(path))+".errors")
			if !slices.Equal(got, want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestParseNativeErrorsIs(t *testing.T) {
	for _, tc := range []struct {
		line string
		want error
	}{
		{"a@b.example", ErrSyntax},
		{"a@b.example c@d.example sometimes", ErrSyntax},
		{"*.b.example d.example", ErrWildcardNotOutboundOnly},
		{"*.b.example d.example outbound-only except=x.example", ErrBadException},
		{"b.example d.example except=x.b.example", ErrBadException},
		{"a@b.example d.example", ErrBadAddress},
		{"b.example a@d.example", ErrBadAddress},
		{"a@@b.example a@d.example", ErrBadAddress},
		{"*@b.example a@d.example", ErrBadAddress},
		{"a@*.b.example a@d.example", ErrBadAddress},
		{"a@b.example a@", ErrBadAddress},
		{"@b.example a@d.example", ErrBadAddress},
		{"b..example d.example", ErrBadAddress},
		{strings.Repeat("a", 64) + ".example d.example", ErrBadAddress},
		{strings.Repeat("a", 65) + "@b.example a@d.example", ErrBadAddress},
		{"a@b.example\xff a@d.example", ErrSyntax},
		{`"john smith@b.example a@d.example`, ErrSyntax},
		{`a@b.example "x y"@d.example outbound-only "z`, ErrSyntax},
		{`"john  smith"x@b.example a@d.example`, ErrBadAddress},
	} {
		_, errs := ParseNative("t.rules", strings.NewReader(tc.line))
		if len(errs) != 1 || !errors.Is(errs[0], tc.want) {
			t.Errorf("%q: got %v, want one %v", tc.line, errs, tc.want)
		}
	}
}

func TestParseNativeGood(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a@b.example c@d.example", "1 address a@b.example -> c@d.example"},
		{"\n\n  a@b.example\tc@d.example  # comment with a@x y@z", "3 address a@b.example -> c@d.example"},
		{"a#b@b.example c@d.example", "1 address a#b@b.example -> c@d.example"},
		{`"a b"@b.example c@d.example`, `1 address "a b"@b.example -> c@d.example`},
		{"\"john smith\"@tenanta.contoso.com\t\"John\tSmith # x\"@contoso.com outbound-only # c",
			"1 address \"john smith\"@tenanta.contoso.com -> \"John\tSmith # x\"@contoso.com outbound-only"},
		{`"a\" b"@b.example c@d.example`, `1 address "a\" b"@b.example -> c@d.example`},
		{`"a\"b"@b.example c@d.example`, `1 address "a\"b"@b.example -> c@d.example`},
		{"jöhn@b.example c@d.example", "1 address jöhn@b.example -> c@d.example"},
		{"*.b.example d.example Outbound-Only EXCEPT=x.b.example,y.x.b.example", "1 wildcard *.b.example -> d.example outbound-only except=x.b.example,y.x.b.example"},
		{"b.example. d.example.", "1 domain b.example. -> d.example."},
	} {
		rules, errs := ParseNative("t.rules", strings.NewReader(tc.in))
		var got []string
		for _, r := range rules {
			got = append(got, dumpRule(r))
		}
		if strings.Join(got, "\n") != tc.want || (tc.want != "" && errs != nil) {
			t.Errorf("%q: got %q %v, want %q", tc.in, got, errs, tc.want)
		}
	}
}

// sameRules compares what a rule file means: everything but positions and names.
func sameRules(a, b []Rule) bool {
	return slices.EqualFunc(a, b, func(x, y Rule) bool {
		x.Pos, y.Pos, x.Name, y.Name = Position{}, Position{}, "", ""
		return sameRule(&x, &y)
	})
}

// roundTrip writes rules with WriteNative and parses them back.
func roundTrip(t *testing.T, rules []Rule) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteNative(&buf, rules); err != nil {
		if !errors.Is(err, ErrSyntax) {
			t.Fatal(err)
		}
		// Only a side no native field can hold may be refused: a quoted local part with
		// spaces must be written.
		for _, r := range rules {
			if !isNativeField(r.Internal) || !isNativeField(r.External) {
				return
			}
			for _, e := range r.Exceptions {
				if !isNativeField(e) || strings.Contains(e, ",") {
					return
				}
			}
		}
		t.Fatalf("WriteNative refused rules whose every side is one native field: %v", err)
	}
	again, errs := ParseNative("again.rules", &buf)
	if errs != nil {
		t.Fatalf("re-parse of\n%s: %v", buf.String(), errors.Join(errs...))
	}
	if !sameRules(rules, again) {
		t.Fatalf("round trip changed the rules:\n%v\n%v", rules, again)
	}
}

func FuzzParseNative(f *testing.F) {
	for _, p := range append(mustOK(filepath.Glob("testdata/good/*.rules")), mustOK(filepath.Glob("testdata/bad/*.rules"))...) {
		f.Add(mustOK(os.ReadFile(p)))
	}
	f.Add([]byte("a@b.example c@d.example outbound-only\n*.x.example y.example outbound-only except=a.x.example"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, errs := ParseNative("f.rules", bytes.NewReader(data))
		for _, err := range errs {
			var le *LoadError
			if !errors.As(err, &le) || le.Pos.File != "f.rules" {
				t.Fatalf("error without position: %v", err)
			}
		}
		roundTrip(t, rules)
		csvRoundTrip(t, rules)
	})
}

func mustOK[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestParseNativeReuse checks that re-parsing gives back the old rule of every line whose
// fields did not change, and a new one otherwise.
func TestParseNativeReuse(t *testing.T) {
	old, errs := parseNative("r.rules", "a@x.example a@y.example\nb@x.example b@y.example\n*.z.example y.example outbound-only except=q.z.example\n", nil)
	if errs != nil {
		t.Fatal(errs)
	}
	cur, errs := parseNative("r.rules", "a@x.example\t a@y.example # same fields\nb@x.example b2@y.example\n*.z.example y.example outbound-only except=q.z.example\n", old)
	if errs != nil {
		t.Fatal(errs)
	}
	if cur[0] != old[0] || cur[1] == old[1] || cur[2] != old[2] || cur[1].External != "b2@y.example" {
		t.Errorf("reuse: got %v, old %v", cur, old)
	}
	shifted, _ := parseNative("r.rules", "\na@x.example a@y.example\n", old)
	if shifted[0] == old[0] || shifted[0].Pos.Line != 2 {
		t.Errorf("a rule on another line must be new: %v", shifted[0].Pos)
	}
	other, _ := parseNative("s.rules", "a@x.example a@y.example\n", old)
	if other[0] == old[0] {
		t.Error("a rule of another file must be new")
	}
}
