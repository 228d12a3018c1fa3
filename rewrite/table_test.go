package rewrite

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// writeDir writes files (name -> content) into dir, removing names with content "-".
func writeDir(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if content == "-" {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		// Write beside and rename, as editors and config management do: a new inode.
		if err := os.WriteFile(p+".tmp", []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(p+".tmp", p); err != nil {
			t.Fatal(err)
		}
	}
}

// tableOf loads files into a new table with the "+" delimiter.
func tableOf(t *testing.T, files map[string]string) (*Table, string) {
	t.Helper()
	dir := t.TempDir()
	writeDir(t, dir, files)
	tb := NewTable(Options{RecipientDelimiter: "+"})
	if _, err := tb.Load(dir); err != nil {
		t.Fatalf("load: %v", err)
	}
	return tb, dir
}

// rewriteCase is one address through one direction: want "" means no rule matches.
type rewriteCase struct {
	addr string
	d    Direction
	want string
	line int // line of the matching rule
}

func checkRewrites(t *testing.T, s *Snapshot, cases []rewriteCase) {
	t.Helper()
	for _, c := range cases {
		out, r, ok := s.Rewrite(c.addr, c.d)
		switch {
		case c.want == "" && (ok || out != c.addr || r != nil):
			t.Errorf("%s %q: got %q by %v, want no match", c.d, c.addr, out, r)
		case c.want != "" && (!ok || out != c.want || r == nil || r.Pos.Line != c.line):
			t.Errorf("%s %q: got %q by %v (ok %v), want %q by line %d", c.d, c.addr, out, r, ok, c.want, c.line)
		}
	}
}

const precedenceRules = `john@tenanta.contoso.com john.smith@contoso.com
tenanta.contoso.com contoso.com
*.contoso.com contoso.com outbound-only except=legal.contoso.com
*.sales.contoso.com sales.example outbound-only except=eu.sales.contoso.com
japan.sales.contoso.com contoso.jp outbound-only
mary@tenantb.contoso.com mary@contoso.com outbound-only
tenantb.contoso.com fabrikam.com outbound-only
bücher.example books.example
trailing.example. dotted.example.
"odd.one."@tenanta.contoso.com "odd.two."@contoso.com
`

func TestRewritePrecedence(t *testing.T) {
	tb, _ := tableOf(t, map[string]string{"p.rules": precedenceRules})
	checkRewrites(t, tb.Snapshot(), []rewriteCase{
		// address > domain > wildcard
		{"john@tenanta.contoso.com", Outbound, "john.smith@contoso.com", 1},
		{"anna@tenanta.contoso.com", Outbound, "anna@contoso.com", 2},
		{"anna@x.contoso.com", Outbound, "anna@contoso.com", 3},
		{"anna@contoso.com", Outbound, "anna@contoso.com", 3}, // *.x covers x itself
		// most specific wildcard; the domain rule beats both (Microsoft's japan.sales example)
		{"masato@japan.sales.contoso.com", Outbound, "masato@contoso.jp", 5},
		{"ken@tokyo.sales.contoso.com", Outbound, "ken@sales.example", 4},
		// an exception and its subdomains are never rewritten by that wildcard; a less
		// specific wildcard still may
		{"x@legal.contoso.com", Outbound, "", 0},
		{"x@team.legal.contoso.com", Outbound, "", 0},
		{"x@eu.sales.contoso.com", Outbound, "x@contoso.com", 3},
		{"x@legalx.contoso.com", Outbound, "x@contoso.com", 3},
		// inbound: only bidirectional address and domain rules, by external side
		{"john.smith@contoso.com", Inbound, "john@tenanta.contoso.com", 1},
		{"anna@contoso.com", Inbound, "anna@tenanta.contoso.com", 2},
		{"mary@contoso.com", Inbound, "mary@tenanta.contoso.com", 2}, // rule 6 is outbound-only
		{"x@fabrikam.com", Inbound, "", 0},
		{"x@sales.example", Inbound, "", 0},
		{"john@tenanta.contoso.com", Inbound, "", 0},
		{"mary@tenantb.contoso.com", Outbound, "mary@contoso.com", 6},
		{"bob@tenantb.contoso.com", Outbound, "bob@fabrikam.com", 7},
		// quoted local parts
		{`"odd.one."@tenanta.contoso.com`, Outbound, `"odd.two."@contoso.com`, 10},
		{`"ODD.Two."@contoso.com`, Inbound, `"odd.one."@tenanta.contoso.com`, 10},
		// a trailing dot written in a rule does not reach the address
		{"x@trailing.example", Outbound, "x@dotted.example", 9},
		{"x@dotted.example.", Inbound, "x@trailing.example", 9},
		// no match, never rewritten
		{"", Outbound, "", 0},
		{"", Inbound, "", 0},
		{"postmaster", Outbound, "", 0},
		{"x@[192.0.2.1]", Outbound, "", 0},
		{"x@example.org", Outbound, "", 0},
		{"john@tenanta.contoso.com", Direction(0), "", 0},
	})
}

func TestRewriteMatching(t *testing.T) {
	tb, _ := tableOf(t, map[string]string{"p.rules": precedenceRules})
	checkRewrites(t, tb.Snapshot(), []rewriteCase{
		// case-insensitive; what is kept keeps its bytes
		{"JOHN@TenantA.Contoso.COM", Outbound, "john.smith@contoso.com", 1},
		{"Anna.Lee@TENANTA.contoso.com", Outbound, "Anna.Lee@contoso.com", 2},
		{"Anna.Lee@Contoso.COM", Inbound, "Anna.Lee@tenanta.contoso.com", 2},
		{"john@tenanta.contoso.com.", Outbound, "john.smith@contoso.com", 1},
		// IDNA: U-label and A-label match each other
		{"x@xn--bcher-kva.example", Outbound, "x@books.example", 8},
		{"x@BÜCHER.example", Outbound, "x@books.example", 8},
		// Rewrite gives the rule's side as the rule writes it; Compute writes an A-label in
		// a transaction that is not SMTPUTF8 (TestComputeSMTPUTF8).
		{"x@books.example", Inbound, "x@bücher.example", 8},
		// recipient delimiter: the extension is kept
		{"john+tag@tenanta.contoso.com", Outbound, "john.smith+tag@contoso.com", 1},
		{"John+Tag@tenanta.contoso.com", Outbound, "john.smith+Tag@contoso.com", 1},
		{"john.smith+tag@contoso.com", Inbound, "john+tag@tenanta.contoso.com", 1},
		{"anna+x@tenanta.contoso.com", Outbound, "anna+x@contoso.com", 2},
		// Microsoft 365 SRS: out with the shared domain, the bounce back in to the tenant
		{"john+SRS=44d3a=2Q=fabrikam.com=mary@tenanta.contoso.com", Outbound, "john.smith+SRS=44d3a=2Q=fabrikam.com=mary@contoso.com", 1},
		{"john.smith+SRS=44d3a=2Q=fabrikam.com=mary@contoso.com", Inbound, "john+SRS=44d3a=2Q=fabrikam.com=mary@tenanta.contoso.com", 1},
		{"bounces+SRS=x=y@tenanta.contoso.com", Outbound, "bounces+SRS=x=y@contoso.com", 2},
		{"bounces+SRS=x=y@contoso.com", Inbound, "bounces+SRS=x=y@tenanta.contoso.com", 2},
		// a quoted local part that needs its quotes has no extension; one that needs none is
		// the same mailbox unquoted
		{`"odd one+x"@contoso.com`, Inbound, `"odd one+x"@tenanta.contoso.com`, 2},
		{`"john+tag"@tenanta.contoso.com`, Outbound, "john.smith+tag@contoso.com", 1},
		{`"John"@tenanta.contoso.com`, Outbound, "john.smith@contoso.com", 1},
	})
}

func TestRewriteDelimiters(t *testing.T) {
	rules := map[string]string{"a.rules": "john@a.example john@b.example\njohn+x@a.example special@b.example\n"}
	for _, tc := range []struct {
		delims string
		cases  []rewriteCase
	}{
		{"+", []rewriteCase{
			{"john+x@a.example", Outbound, "special@b.example", 2}, // the whole local part first
			{"john+y@a.example", Outbound, "john+y@b.example", 1},
			{"john-y@a.example", Outbound, "", 0},
		}},
		{"+-", []rewriteCase{
			{"john-y@a.example", Outbound, "john-y@b.example", 1},
			{"john-y+z@b.example", Inbound, "john-y+z@a.example", 1},
		}},
		{"", []rewriteCase{
			{"john+y@a.example", Outbound, "", 0},
			{"john+x@a.example", Outbound, "special@b.example", 2},
		}},
	} {
		dir := t.TempDir()
		writeDir(t, dir, rules)
		tb := NewTable(Options{RecipientDelimiter: tc.delims})
		if _, err := tb.Load(dir); err != nil {
			t.Fatal(err)
		}
		checkRewrites(t, tb.Snapshot(), tc.cases)
	}
}

func TestEmptyTable(t *testing.T) {
	tb := NewTable(Options{RecipientDelimiter: "+"})
	s := tb.Snapshot()
	if out, r, ok := s.Rewrite("john@tenanta.contoso.com", Outbound); ok || r != nil || out != "john@tenanta.contoso.com" {
		t.Errorf("empty table rewrote: %q %v", out, r)
	}
	if st := s.Stats(); st.Rules != 0 || len(st.ByFile) != 0 {
		t.Errorf("empty table stats %+v", st)
	}
	// An empty directory is fine while the table is empty.
	if _, err := tb.Load(t.TempDir()); err != nil {
		t.Errorf("empty directory: %v", err)
	}
}

// TestConcurrentReaders reads snapshots while loads change the table (run with -race).
func TestConcurrentReaders(t *testing.T) {
	tb, dir := tableOf(t, map[string]string{"a.rules": "john@a.example john@b.example\n"})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := tb.Snapshot()
				out, _, ok := s.Rewrite("john@a.example", Outbound)
				if ok && !strings.HasSuffix(out, "@b.example") {
					t.Errorf("got %q", out)
				}
				_ = s.Stats()
			}
		})
	}
	for i := range 20 {
		content := "john@a.example john@b.example\n"
		if i%2 == 0 {
			content = "john@a.example john2@b.example\nmary@a.example mary@b.example\n"
		}
		writeDir(t, dir, map[string]string{"a.rules": content})
		if _, err := tb.Load(dir); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
}
