package rewrite

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

// tagListCase is one line of testdata/dkim/taglists.txt.
type tagListCase struct {
	line      int
	value     string
	want, err string
}

func readTagListCases(t testing.TB) []tagListCase {
	t.Helper()
	f, err := os.Open("testdata/dkim/taglists.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []tagListCase
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		q, err := strconv.QuotedPrefix(line)
		if err != nil {
			t.Fatalf("taglists.txt:%d: %v", n, err)
		}
		v, _ := strconv.Unquote(q)
		kind, rest, _ := strings.Cut(strings.TrimSpace(line[len(q):]), " ")
		c := tagListCase{line: n, value: v}
		switch kind {
		case "h":
			c.want = strings.TrimSpace(rest)
		case "err":
			c.err = strings.TrimSpace(rest)
		default:
			t.Fatalf("taglists.txt:%d: want h or err, got %q", n, kind)
		}
		cases = append(cases, c)
	}
	if len(cases) == 0 {
		t.Fatal("taglists.txt has no cases")
	}
	return cases
}

func TestSignedFieldNames(t *testing.T) {
	for _, c := range readTagListCases(t) {
		names, err := SignedFieldNames(c.value)
		switch {
		case c.err != "" && err == nil:
			t.Errorf("taglists.txt:%d: %q parsed as %q, want an error containing %q", c.line, c.value, names, c.err)
		case c.err != "" && (!errors.Is(err, ErrBadTagList) || !strings.Contains(err.Error(), c.err)):
			t.Errorf("taglists.txt:%d: error %v, want ErrBadTagList containing %q", c.line, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("taglists.txt:%d: %q: %v", c.line, c.value, err)
		case c.err == "" && strings.Join(names, ":") != c.want:
			t.Errorf("taglists.txt:%d: h= names %q, want %s", c.line, names, c.want)
		}
	}
}

func TestParseTagListKeepsOrderAndValues(t *testing.T) {
	tags, err := ParseTagList(" v=1; a=rsa-sha256;\r\n\td=fabrikam.example ; b=AB CD\r\n EF;")
	if err != nil {
		t.Fatal(err)
	}
	want := []Tag{{"v", "1"}, {"a", "rsa-sha256"}, {"d", "fabrikam.example"}, {"b", "AB CD\r\n EF"}}
	if len(tags) != len(want) {
		t.Fatalf("got %q, want %q", tags, want)
	}
	for i := range want {
		if tags[i] != want[i] {
			t.Errorf("tag %d: got %q, want %q", i, tags[i], want[i])
		}
	}
}

func TestSignedFieldsOf(t *testing.T) {
	tests := []struct {
		name    string
		headers []Header
		covered []string
		not     []string
	}{
		{"DKIM-Signature", []Header{{"DKIM-Signature", " v=1; h=From:To; b=x"}, {"To", " a@b"}}, []string{"to", "From", "TO"}, []string{"cc"}},
		{"field name in any case", []Header{{"dkim-signature", " v=1; h=cc; b=x"}}, []string{"Cc"}, []string{"to"}},
		{"ARC message signature", []Header{{"ARC-Message-Signature", " i=1; a=rsa-sha256; h=to:cc; b=x"}}, []string{"To", "Cc"}, nil},
		{"two signatures add up", []Header{{"DKIM-Signature", " h=to; b=x"}, {"DKIM-Signature", " h=cc; b=x"}}, []string{"To", "Cc"}, nil},
		{"a signature whose h= cannot be read covers every field", []Header{{"DKIM-Signature", " h=to; h=cc"}}, []string{"To", "Cc", "From"}, nil},
		{"ARC-Seal has no h=", []Header{{"ARC-Seal", " i=1; h=to; b=x"}}, nil, []string{"To"}},
		{"no signature", []Header{{"To", " a@b"}}, nil, []string{"To"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := signedFieldsOf(tt.headers)
			for _, n := range tt.covered {
				if !s.covers(n) {
					t.Errorf("%s not covered by %v", n, s)
				}
			}
			for _, n := range tt.not {
				if s.covers(n) {
					t.Errorf("%s covered by %v", n, s)
				}
			}
		})
	}
}

// FuzzParseTagList checks that a parsed tag list is well formed: tag names of the grammar,
// each once, values without surrounding white space; and that h= names come back lower case,
// non-empty and without white space.
func FuzzParseTagList(f *testing.F) {
	for _, c := range readTagListCases(f) {
		f.Add(c.value)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tags, err := ParseTagList(s)
		if err != nil {
			if !errors.Is(err, ErrBadTagList) {
				t.Fatalf("error not wrapping ErrBadTagList: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, tg := range tags {
			if !isTagName(tg.Name) || seen[tg.Name] {
				t.Fatalf("%q: bad or repeated tag name %q", s, tg.Name)
			}
			seen[tg.Name] = true
			if tg.Value != strings.Trim(tg.Value, " \t\r\n") || strings.ContainsRune(tg.Value, ';') {
				t.Fatalf("%q: value %q of %s not trimmed or holds ';'", s, tg.Value, tg.Name)
			}
		}
		names, err := SignedFieldNames(s)
		if err != nil {
			if seen["h"] && !strings.Contains(err.Error(), "field name") {
				t.Fatalf("%q has h= but: %v", s, err)
			}
			return
		}
		for _, n := range names {
			if n == "" || n != strings.ToLower(n) || strings.ContainsAny(n, " \t\r\n:") {
				t.Fatalf("%q: bad h= name %q", s, n)
			}
		}
	})
}
