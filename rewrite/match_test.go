package rewrite

import (
	"fmt"
	"strings"
	"testing"
)

// TestMatch lists the candidates of addresses and domains of testdata/mixed, in precedence
// order, and checks the winner against Rewrite.
func TestMatch(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "testdata/mixed", dir)
	tb := NewTable(Options{RecipientDelimiter: "+"})
	if _, err := tb.Load(dir); err != nil {
		t.Fatal(err)
	}
	s := tb.Snapshot()
	for _, tc := range []struct {
		q    string
		want string // direction how line [winner result] [excepted], joined by "; "
	}{
		{"john@tenanta.contoso.com", "outbound address 2 wins john.smith@contoso.com; outbound domain 2; outbound wildcard 3"},
		{"John+x@TenantA.contoso.com", "outbound address without extension 2 wins john.smith+x@contoso.com; outbound domain 2; outbound wildcard 3"},
		{"x@legal.contoso.com", "outbound wildcard 3 excepted"},
		{"x@lab.contoso.com", "outbound wildcard 3 wins x@contoso.com"},
		{"mary.jones@contoso.com", "outbound wildcard 3 wins mary.jones@contoso.com; inbound address 3 wins mary@tenanta.contoso.com; inbound domain 2"},
		{"tenanta.contoso.com", "outbound address of the domain 2; outbound address of the domain 3; outbound domain 2 wins *@contoso.com; outbound wildcard 3"},
		{"example.org", ""},
	} {
		t.Run(tc.q, func(t *testing.T) {
			cs, err := s.Match(tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range cs {
				g := fmt.Sprintf("%s %s %d", c.Direction, c.How, c.Rule.Pos.Line)
				if c.Winner {
					g += " wins " + c.Result
				}
				if c.Excepted {
					g += " excepted"
				}
				got = append(got, g)
			}
			if strings.Join(got, "; ") != tc.want {
				t.Errorf("got  %s\nwant %s", strings.Join(got, "; "), tc.want)
			}
			if strings.Contains(tc.q, "@") {
				for _, d := range []Direction{Outbound, Inbound} {
					out, r, ok := s.Rewrite(tc.q, d)
					winners := 0
					for _, c := range cs {
						if c.Direction == d && c.Winner {
							winners++
							if c.Rule != r || c.Result != out {
								t.Errorf("%s: Match says %v -> %s, Rewrite %v -> %s", d, c.Rule, c.Result, r, out)
							}
						}
					}
					if want := map[bool]int{true: 1}[ok]; winners != want {
						t.Errorf("%s: %d winners, Rewrite matched: %v", d, winners, ok)
					}
				}
			}
		})
	}
	if _, err := s.Match("not an address@"); err == nil {
		t.Error("a malformed query was accepted")
	}
}

// TestDiff compares two versions of a rule set: one changed, one added, one removed rule, one
// moved (no change), and the addresses each changes.
func TestDiff(t *testing.T) {
	load := func(files map[string]string) *Snapshot {
		dir := t.TempDir()
		writeDir(t, dir, files)
		tb := NewTable(Options{RecipientDelimiter: "+"})
		if _, err := tb.Load(dir); err != nil {
			t.Fatal(err)
		}
		return tb.Snapshot()
	}
	old := load(map[string]string{"a.rules": "tenanta.contoso.com contoso.com\njohn@tenanta.contoso.com john.smith@contoso.com\nann@tenanta.contoso.com ann@fabrikam.com\n"})
	cur := load(map[string]string{"a.rules": "# moved\ntenanta.contoso.com contoso.com\njohn@tenanta.contoso.com jsmith@contoso.com\n", "b.rules": "kim@tenanta.contoso.com kim@fabrikam.com outbound-only\n"})
	var got []string
	for _, c := range Diff(old, cur) {
		var line string
		switch {
		case c.Old == nil:
			line = "added " + c.New.Internal
		case c.New == nil:
			line = "removed " + c.Old.Internal
		default:
			line = "changed " + c.New.Internal
		}
		for _, e := range c.Effects {
			line += fmt.Sprintf("; %s %s: %s -> %s", e.Direction, e.Address, e.Old, e.New)
		}
		got = append(got, line)
	}
	want := []string{
		"changed john@tenanta.contoso.com; outbound john@tenanta.contoso.com: john.smith@contoso.com -> jsmith@contoso.com; inbound john.smith@contoso.com: john@tenanta.contoso.com -> john.smith@tenanta.contoso.com; inbound jsmith@contoso.com: jsmith@tenanta.contoso.com -> john@tenanta.contoso.com",
		"added kim@tenanta.contoso.com; outbound kim@tenanta.contoso.com: kim@contoso.com -> kim@fabrikam.com",
		"removed ann@tenanta.contoso.com; outbound ann@tenanta.contoso.com: ann@fabrikam.com -> ann@contoso.com; inbound ann@fabrikam.com: ann@tenanta.contoso.com -> ann@fabrikam.com",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d := Diff(old, old); len(d) != 0 {
		t.Errorf("a set differs from itself: %v", d)
	}
}
