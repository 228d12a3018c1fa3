package rewrite

import (
	"bufio"
	"errors"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fakeLookup is a map-based Lookup for the header and plan tests: keys are lower-case addresses
// ("john@x") or domains ("@x"); a domain rule keeps the local part's bytes. It stands in for
// *Snapshot, whose own tests cover real rule matching.
type fakeLookup struct {
	out, in map[string]string
	rules   map[string]*Rule // by key, for Change.Rule
}

func newFakeLookup() *fakeLookup {
	f := &fakeLookup{
		out: map[string]string{
			"@tenanta.contoso.com":        "contoso.com",
			"@tenantb.contoso.com":        "contoso.com",
			"j.smith@tenanta.contoso.com": "john.smith@contoso.com",
			"same@tenanta.contoso.com":    "same@tenanta.contoso.com",
			"@bücher.example":             "books.example",
			"@xn--bcher-kva.example":      "books.example",
		},
		in: map[string]string{
			"@contoso.com":      "tenanta.contoso.com",
			"jane@contoso.com":  "jane@tenantb.contoso.com",
			"quote@contoso.com": "first last@tenantb.contoso.com",
			"bad@contoso.com":   "nodomain",
		},
		rules: map[string]*Rule{},
	}
	line := 0
	for _, m := range []map[string]string{f.out, f.in} {
		for k, v := range m {
			line++
			kind := KindAddress
			if strings.HasPrefix(k, "@") {
				kind = KindDomain
			}
			f.rules[k] = &Rule{Internal: k, External: v, Kind: kind, Pos: Position{File: "fake.rules", Line: line}}
		}
	}
	return f
}

func (f *fakeLookup) Rewrite(addr string, d Direction) (string, *Rule, bool) {
	m := f.out
	if d == Inbound {
		m = f.in
	}
	i := strings.LastIndexByte(addr, '@')
	if addr == "" || i < 0 {
		return addr, nil, false
	}
	key := strings.ToLower(addr)
	if n, ok := m[key]; ok {
		return n, f.rules[key], true
	}
	dkey := strings.ToLower(addr[i:])
	if n, ok := m[dkey]; ok {
		return addr[:i+1] + n, f.rules[dkey], true
	}
	return addr, nil, false
}

// headerCase is one case of testdata/header/rewrite.txt.
type headerCase struct {
	line          int
	dir           Direction
	name          string
	in, out       string
	hasOut        bool
	seen          []string
	hasSeen       bool
	err, badRepl  string
	hasErr, isBad bool
}

func readHeaderCases(t testing.TB) []headerCase {
	t.Helper()
	f, err := os.Open("testdata/header/rewrite.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []headerCase
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimLeft(rest, " ")
		switch key {
		case "outbound", "inbound":
			d := Outbound
			if key == "inbound" {
				d = Inbound
			}
			cases = append(cases, headerCase{line: n, dir: d, name: rest})
			continue
		}
		if len(cases) == 0 {
			t.Fatalf("rewrite.txt:%d: %q before the first case", n, line)
		}
		c := &cases[len(cases)-1]
		var vals []string
		for rest != "" {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				t.Fatalf("rewrite.txt:%d: %v: %q", n, err, rest)
			}
			v, _ := strconv.Unquote(q)
			vals = append(vals, v)
			rest = strings.TrimLeft(rest[len(q):], " ")
		}
		one := func() string {
			if len(vals) != 1 {
				t.Fatalf("rewrite.txt:%d: %s wants one quoted string", n, key)
			}
			return vals[0]
		}
		switch key {
		case "in":
			c.in = one()
		case "out":
			c.out, c.hasOut = one(), true
		case "seen":
			c.seen, c.hasSeen = vals, true
		case "err":
			c.err, c.hasErr = one(), true
		case "badrepl":
			c.badRepl, c.isBad = one(), true
		default:
			t.Fatalf("rewrite.txt:%d: unknown key %q", n, key)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

func TestRewriteAddressList(t *testing.T) {
	l := newFakeLookup()
	for _, c := range readHeaderCases(t) {
		t.Run(c.name, func(t *testing.T) {
			var seen []string
			got, err := RewriteAddressList(c.in, func(a string) (string, bool) {
				seen = append(seen, a)
				n, _, ok := l.Rewrite(a, c.dir)
				return n, ok
			})
			want := c.in
			if c.hasOut {
				want = c.out
			}
			if got != want {
				t.Errorf("rewrite.txt:%d:\n in   %q\n got  %q\n want %q", c.line, c.in, got, want)
			}
			switch {
			case c.hasErr:
				if !errors.Is(err, ErrUnparsable) || !strings.Contains(err.Error(), c.err) {
					t.Errorf("rewrite.txt:%d: error %v, want ErrUnparsable containing %q", c.line, err, c.err)
				}
				if seen != nil {
					t.Errorf("rewrite.txt:%d: fn called for an unparsable value: %q", c.line, seen)
				}
			case c.isBad:
				if !errors.Is(err, ErrBadReplacement) || !strings.Contains(err.Error(), c.badRepl) {
					t.Errorf("rewrite.txt:%d: error %v, want ErrBadReplacement containing %q", c.line, err, c.badRepl)
				}
			case err != nil:
				t.Errorf("rewrite.txt:%d: unexpected error: %v", c.line, err)
			}
			if c.hasSeen && !reflect.DeepEqual(seen, c.seen) && (len(seen) != 0 || len(c.seen) != 0) {
				t.Errorf("rewrite.txt:%d: fn asked about %q, want %q", c.line, seen, c.seen)
			}
		})
	}
}

func TestHeaderFormatAddrSpec(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{in: "john@contoso.com", want: "john@contoso.com"},
		{in: "jörg@bücher.example", want: "jörg@bücher.example"},
		{in: `"john smith"@contoso.com`, want: `"john smith"@contoso.com`},
		{in: "john smith@contoso.com", want: `"john smith"@contoso.com`},
		{in: `a"b\c@contoso.com`, want: `"a\"b\\c"@contoso.com`},
		{in: "a@b@contoso.com", want: `"a@b"@contoso.com`},
		{in: ".john@contoso.com", want: `".john"@contoso.com`},
		{in: "@contoso.com", want: `""@contoso.com`},
		{in: "john@[192.0.2.1]", want: "john@[192.0.2.1]"},
		{in: "john", err: "no '@'"},
		{in: "john@", err: "bad domain"},
		{in: "john@exa mple.com", err: "bad domain"},
		{in: "john@contoso.com\r\nBcc: x@y", err: "control character"},
	} {
		got, err := formatAddrSpec(c.in, "old")
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("formatAddrSpec(%q) = %q, %v; want error %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("formatAddrSpec(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// TestRewriteAddressListManyAddresses goes past the listScanner's inline span storage.
func TestRewriteAddressListManyAddresses(t *testing.T) {
	var in, want []string
	for i := range 30 {
		local := "user" + strconv.Itoa(i)
		in = append(in, local+"@tenanta.contoso.com")
		want = append(want, local+"@contoso.com")
	}
	l := newFakeLookup()
	got, err := RewriteAddressList(" "+strings.Join(in, ",\r\n "), func(a string) (string, bool) {
		n, _, ok := l.Rewrite(a, Outbound)
		return n, ok
	})
	if err != nil || got != " "+strings.Join(want, ",\r\n ") {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestRewriteAddressListNoAlloc(t *testing.T) {
	v := ` "Smith, John" <john@tenanta.contoso.com>, =?utf-8?q?J=C3=B6rg?= <joerg@example.org> (x)`
	none := func(a string) (string, bool) { return a, false }
	if n := testing.AllocsPerRun(100, func() {
		if _, err := RewriteAddressList(v, none); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("RewriteAddressList with nothing to rewrite: %v allocations, want 0", n)
	}
}

// countAddrs returns how many addr-specs value holds and what they are, or an error.
func countAddrs(value string) ([]string, error) {
	p := listScanner{s: value}
	if err := p.scan(); err != nil {
		return nil, err
	}
	var addrs []string
	for i := 0; i < p.n; i++ {
		addrs = append(addrs, p.span(i).addr)
	}
	return addrs, nil
}

func FuzzRewriteAddressList(f *testing.F) {
	for _, c := range readHeaderCases(f) {
		f.Add(c.in)
	}
	const fixed = "fixed@example.com"
	f.Fuzz(func(t *testing.T, in string) {
		none := func(a string) (string, bool) { return "", false }
		out, err := RewriteAddressList(in, none)
		if out != in {
			t.Fatalf("no rule matched but %q became %q", in, out)
		}
		if err != nil && !errors.Is(err, ErrUnparsable) {
			t.Fatalf("error not wrapping ErrUnparsable: %v", err)
		}
		self := func(a string) (string, bool) { return a, true }
		if out, err2 := RewriteAddressList(in, self); out != in || (err == nil) != (err2 == nil) {
			t.Fatalf("identity rewrite changed %q into %q (%v)", in, out, err2)
		}
		// ReadAddressFields reads the value as RewriteAddressList does: the same error, the
		// addresses fn is given.
		var seen []string
		_, _ = RewriteAddressList(in, func(a string) (string, bool) { seen = append(seen, a); return a, false })
		fs := ReadAddressFields([]Header{{Name: "from", Value: in}})
		if len(fs) != 1 || (fs[0].Err == nil) != (err == nil) || !slices.Equal(fs[0].Addrs, seen) {
			t.Fatalf("ReadAddressFields(%q) = %+v; RewriteAddressList saw %q, %v", in, fs, seen, err)
		}
		if err != nil {
			return
		}
		before, err := countAddrs(in)
		if err != nil {
			t.Fatalf("RewriteAddressList parsed %q but the listScanner does not: %v", in, err)
		}
		out, err = RewriteAddressList(in, func(string) (string, bool) { return fixed, true })
		if err != nil {
			t.Fatalf("rewriting %q to %s: %v", in, fixed, err)
		}
		after, err := countAddrs(out)
		if err != nil {
			t.Fatalf("%q rewritten to %q no longer parses: %v", in, out, err)
		}
		if len(after) != len(before) {
			t.Fatalf("%q had %d addresses, rewritten %q has %d", in, len(before), out, len(after))
		}
		for _, a := range after {
			if a != fixed {
				t.Fatalf("%q rewritten to %q still holds %q", in, out, a)
			}
		}
	})
}

func TestHeaderIsAtext6532(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := c >= 0x80 || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$%&'*+-/=?^_`{|}~", byte(c)) >= 0
		if got := isAtext6532(byte(c)); got != want {
			t.Errorf("isAtext6532(%q) = %v", rune(c), got)
		}
	}
}
