package rewrite

import (
	"fmt"
	"strings"
	"testing"
)

// longList is n addresses "userNN.<pad>@domain" joined by sep, with a leading space.
func longList(n int, pad, domain, sep string) string {
	as := make([]string, n)
	for i := range as {
		as[i] = fmt.Sprintf("user%02d.%s@%s", i+1, pad, domain)
	}
	return " " + strings.Join(as, sep)
}

// unfold removes the line breaks of folding (RFC 5322 §2.2.3).
func unfold(s string) string { return strings.NewReplacer("\r\n", "", "\n", "").Replace(s) }

func TestFoldLongLines(t *testing.T) {
	pad := "with.a.long.local.part"
	// 26 addresses joined by ", ": the line "To:" + value is 990 octets with contoso.com and
	// 1198 once the domain grows to tenanta.contoso.com.
	old26 := longList(26, "a.long.local.part", "contoso.com", ", ")
	new26 := longList(26, "a.long.local.part", "tenanta.contoso.com", ", ")
	if n := len("To:" + old26); n != 990 {
		t.Fatalf("the 26-address line is %d octets, the case wants 990", n)
	}
	quoted := func(dom string) string {
		var b strings.Builder
		for i := 0; i < 12; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, " \"Smith, John %02d, of the long display names department\" <john%02d.%s@%s>", i, i, pad, dom)
		}
		return b.String()
	}
	tests := []struct {
		name, field, old, new string
		// lines is the number of lines wanted; 0 means the value must come back unchanged.
		lines int
		// want, when set, is the exact result.
		want string
	}{
		{name: "short line unchanged", field: "To", old: " a@contoso.com", new: " a@tenanta.contoso.com"},
		{name: "26 long addresses", field: "To", old: old26, new: new26, lines: 2},
		{name: "field name counts on the first line", field: strings.Repeat("X", 200), old: " a@b", new: longList(16, pad, "tenanta.contoso.com", ", "), lines: 2},
		{name: "CRLF folding kept and used", field: "Cc", old: " a@b,\r\n" + old26, new: " a@b,\r\n" + new26, lines: 3},
		{name: "existing folding kept: only the long line is refolded", field: "To",
			old: " first@contoso.com,\n" + old26, new: " first@contoso.com,\n" + new26, lines: 3},
		{name: "comma without a space gets one after the break", field: "To",
			old: longList(26, pad, "contoso.com", ","), new: longList(26, pad, "tenanta.contoso.com", ","), lines: 2},
		{name: "commas inside quoted display names are not boundaries", field: "To", old: quoted("contoso.com"), new: quoted("tenanta.contoso.com"), lines: 2},
		{name: "a line long before the rewrite stays as it was", field: "To",
			old: " x@contoso.com,\n" + new26, new: " x@tenanta.contoso.com,\n" + new26},
		{name: "one address longer than a line cannot be folded", field: "To",
			old: " a@contoso.com", new: " " + strings.Repeat("a", 1000) + "@contoso.com"},
		{name: "unparsable value unchanged", field: "To", old: " x", new: " (" + strings.Repeat("a@b, ", 300)},
		{name: "exact fold", field: "To",
			old:  " " + strings.Repeat("a", 500) + "@x, " + strings.Repeat("b", 400) + "@x",
			new:  " " + strings.Repeat("a", 500) + "@x, " + strings.Repeat("b", 500) + "@x",
			want: " " + strings.Repeat("a", 500) + "@x,\n " + strings.Repeat("b", 500) + "@x", lines: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := foldLongLines(tt.field, tt.old, tt.new)
			if tt.lines == 0 {
				if got != tt.new {
					t.Fatalf("changed:\n%q\nto\n%q", tt.new, got)
				}
				return
			}
			if tt.want != "" && got != tt.want {
				t.Fatalf("got\n%q\nwant\n%q", got, tt.want)
			}
			lines := splitLines(got)
			if len(lines) != tt.lines {
				t.Errorf("%d lines, want %d:\n%s", len(lines), tt.lines, got)
			}
			for i, l := range lines {
				n := len(l)
				if i == 0 {
					n += len(tt.field) + 1
				}
				if n > MaxLineOctets {
					t.Errorf("line %d is %d octets: %q", i+1, n, l)
				}
				if i > 0 && l != "" && l[0] != ' ' && l[0] != '\t' {
					t.Errorf("line %d does not start with white space: %q", i+1, l)
				}
			}
			if strings.Contains(tt.new, "\r\n") != strings.Contains(got, "\r\n") || strings.Count(got, "\r") != strings.Count(got, "\r\n") {
				t.Errorf("line breaks not in the value's own style: %q", got)
			}
			if strings.ReplaceAll(unfold(got), " ", "") != strings.ReplaceAll(unfold(tt.new), " ", "") {
				t.Errorf("folding changed more than white space:\n%q\n%q", tt.new, got)
			}
			if strings.Contains(tt.new, ", ") && !strings.Contains(tt.name, "quoted") && unfold(got) != unfold(tt.new) {
				t.Errorf("unfolding does not give back the value:\n%q\n%q", unfold(tt.new), unfold(got))
			}
			oldAddrs, _ := countAddrs(tt.new)
			newAddrs, err := countAddrs(got)
			if err != nil || strings.Join(oldAddrs, ",") != strings.Join(newAddrs, ",") {
				t.Errorf("addresses changed by folding (%v): %q -> %q", err, oldAddrs, newAddrs)
			}
		})
	}
}

// FuzzFoldLongLines lengthens every address of a value and checks the folded result: the same
// addresses, nothing but line breaks and white space added, lines within the limit wherever an
// address boundary allowed, and lines of the original untouched.
func FuzzFoldLongLines(f *testing.F) {
	for _, c := range readHeaderCases(f) {
		f.Add(c.in, 40)
	}
	f.Add(longList(26, "with.a.long.local.part", "contoso.com", ", "), 8)
	f.Add(" \"a, b\" <x@y>,(c,d) z@w,\r\n g:h@i,j@k;", 600)
	f.Fuzz(func(t *testing.T, in string, grow int) {
		if grow < 0 || grow > 1200 {
			return
		}
		long := strings.Repeat("l", grow)
		nv, err := RewriteAddressList(in, func(a string) (string, bool) {
			i := strings.LastIndexByte(a, '@')
			return a[:i+1] + long + ".example", true
		})
		if err != nil {
			return
		}
		got := foldLongLines("To", in, nv)
		if strings.ReplaceAll(strings.ReplaceAll(unfold(got), " ", ""), "\t", "") !=
			strings.ReplaceAll(strings.ReplaceAll(unfold(nv), " ", ""), "\t", "") {
			t.Fatalf("folding changed more than white space:\n%q\n%q", nv, got)
		}
		want, err1 := countAddrs(nv)
		if err1 != nil {
			// The lengthened value is no address list (an '@' inside a domain literal cut
			// it): only white space may change, checked above.
			return
		}
		have, err2 := countAddrs(got)
		if err2 != nil || strings.Join(want, "\x00") != strings.Join(have, "\x00") {
			t.Fatalf("addresses changed (%v): %q -> %q", err2, nv, got)
		}
		if got == nv {
			return
		}
		for _, l := range splitLines(got) {
			if len(l) > 0 && strings.Trim(l, " \t") == "" && !strings.Contains(nv, "\n"+l) {
				t.Fatalf("folding made a line of white space only: %q", got)
			}
		}
	})
}
