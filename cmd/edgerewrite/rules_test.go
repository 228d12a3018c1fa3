package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgerewrite/edgerewrite/rewrite"
)

// TestCheckRuleSet: check refuses a rule set that sends one tenant's replies to another,
// naming both rules and the address, and warns of an external domain the organisation does
// not receive mail for.
func TestCheckRuleSet(t *testing.T) {
	code, out, errOut := edgerewrite(t, "check", "-c", "testdata/collision/edgerewrite.toml")
	expect(t, code, out, errOut, exitProblem,
		"testdata/collision/rules/tenant-b.rules:2: replies would go to another mailbox: mary@tenanta.contoso.com leaves as mary@contoso.com by the rule at testdata/collision/rules/tenant-a.rules:2",
		"go to mary@tenantb.contoso.com by the rule at testdata/collision/rules/tenant-b.rules:2",
		"edgerewrite check: 1 problem")

	code, out, errOut = edgerewrite(t, "check", "-c", "testdata/newbrand/edgerewrite.toml")
	expect(t, code, out, errOut, exitOK,
		"testdata/newbrand/rules/tenant-a.rules:2: warning: newbrand.example is not one of the organisation's domains",
		"(kim@tenanta.contoso.com -> kim@newbrand.example)", "refused as relaying", "edgerewrite check: OK")
	if strings.Contains(out, "contoso.com is not one") {
		t.Errorf("an organisation domain was warned of:\n%s", out)
	}
}

// TestCheckCI checks a production config on a machine that is not the gateway: -ci leaves out
// the socket directory and group, -rules names the rules to check.
func TestCheckCI(t *testing.T) {
	code, out, errOut := edgerewrite(t, "check", "-c", "testdata/ci/edgerewrite.toml")
	expect(t, code, out, errOut, exitProblem, "socket directory", "edgerewrite-no-such-group", "rules_dir")

	code, out, errOut = edgerewrite(t, "check", "-c", "testdata/ci/edgerewrite.toml", "-ci", "-rules", "testdata/ok/rules")
	expect(t, code, out, errOut, exitOK, "rules testdata/ok/rules: 4 rules in 2 files", "fingerprint 03d8386b6aeffa71", "edgerewrite check: OK")

	code, out, errOut = edgerewrite(t, "check", "-c", "testdata/ci/edgerewrite.toml", "-ci", "-rules", "testdata/collision/rules")
	expect(t, code, out, errOut, exitProblem, "replies would go to another mailbox", "edgerewrite check: 1 problem")
}

func TestRulesList(t *testing.T) {
	code, out, errOut := edgerewrite(t, "rules", "-c", "testdata/ok/edgerewrite.toml")
	expect(t, code, out, errOut, exitOK, "rules testdata/ok/rules: 4 rules, fingerprint 03d8386b6aeffa71",
		"testdata/ok/rules/contoso.rules:4  wildcard  *.contoso.com ", "outbound-only  legal.contoso.com  -",
		"testdata/ok/rules/exchange.csv:2   address   sales@tenanta.contoso.com  sales@contoso.com  both ")

	code, out, errOut = edgerewrite(t, "rules", "-c", "testdata/newbrand/edgerewrite.toml")
	expect(t, code, out, errOut, exitOK, "kim@tenanta.contoso.com   kim@newbrand.example")
	if !strings.Contains(errOut, "warning: newbrand.example is not one of the organisation's domains") || strings.Contains(out, "warning") {
		t.Errorf("the warning is not on stderr alone:\nstdout:\n%s\nstderr:\n%s", out, errOut)
	}

	code, out, errOut = edgerewrite(t, "rules", "-c", "testdata/ok/edgerewrite.toml", "-json")
	expect(t, code, out, errOut, exitOK)
	var got struct {
		Fingerprint string
		Rules       []struct {
			File, Kind, Internal, External, Name string
			Line                                 int
			OutboundOnly                         bool `json:"outbound_only"`
			Exceptions                           []string
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.Fingerprint != "03d8386b6aeffa71" || len(got.Rules) != 4 || got.Rules[2].Kind != "wildcard" || !got.Rules[2].OutboundOnly ||
		!slices.Equal(got.Rules[2].Exceptions, []string{"legal.contoso.com"}) || got.Rules[3].Name != "Sales" || got.Rules[3].Line != 2 {
		t.Errorf("JSON: %+v", got)
	}
}

// TestRulesMatch shows precedence: an address rule (here by its base address) before the
// wildcard, which is listed but loses; a domain asked about lists its addresses' rules.
func TestRulesMatch(t *testing.T) {
	code, out, errOut := edgerewrite(t, "rules", "-c", "testdata/ok/edgerewrite.toml", "-match", "John+x@tenanta.contoso.com")
	expect(t, code, out, errOut, exitOK,
		"outbound:\n  *  address without extension  testdata/ok/rules/contoso.rules:2  john@tenanta.contoso.com -> john@contoso.com  both           -> john+x@contoso.com\n",
		"\n     wildcard                   testdata/ok/rules/contoso.rules:4  *.contoso.com -> contoso.com",
		"inbound:\n  no rule: not rewritten")

	code, out, errOut = edgerewrite(t, "rules", "-c", "testdata/ok/edgerewrite.toml", "-match", "x@legal.contoso.com")
	expect(t, code, out, errOut, exitOK, "wildcard  testdata/ok/rules/contoso.rules:4  *.contoso.com -> contoso.com  outbound-only  (excepted: does not apply)")
	if strings.Contains(out, "*  wildcard") {
		t.Errorf("an excepted wildcard won:\n%s", out)
	}

	code, out, errOut = edgerewrite(t, "rules", "-c", "testdata/ok/edgerewrite.toml", "-match", "contoso.com", "-json")
	expect(t, code, out, errOut, exitOK)
	var got struct {
		Candidates []struct {
			Direction, How, Result string
			Winner                 bool
			Rule                   struct{ Line int }
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	var sum []string
	for _, c := range got.Candidates {
		s := c.Direction + " " + c.How
		if c.Winner {
			s += " wins: " + c.Result
		}
		sum = append(sum, s)
	}
	want := []string{"outbound wildcard wins: *@contoso.com", "inbound address of the domain", "inbound address of the domain", "inbound address of the domain"}
	if !slices.Equal(sum, want) {
		t.Errorf("got %q, want %q", sum, want)
	}
}

// TestRulesDiff: a one-line change is listed with the addresses it changes.
func TestRulesDiff(t *testing.T) {
	code, out, errOut := edgerewrite(t, "rules", "-c", "testdata/ok/edgerewrite.toml", "-diff", "testdata/edited/rules")
	expect(t, code, out, errOut, exitOK,
		"to testdata/edited/rules (fingerprint ", "1 change\n",
		"~ testdata/edited/rules/contoso.rules:3  mary@tenantb.contoso.com -> mary.b@contoso.com both\n    was testdata/ok/rules/contoso.rules:3  mary@tenantb.contoso.com -> mary@contoso.com both",
		"outbound mary@tenantb.contoso.com: mary.b@contoso.com, was mary@contoso.com",
		"inbound  mary@contoso.com: not rewritten, was mary@tenantb.contoso.com",
		"inbound  mary.b@contoso.com: mary@tenantb.contoso.com, was not rewritten")

	code, out, errOut = edgerewrite(t, "rules", "-c", "testdata/ok/edgerewrite.toml", "-diff", "testdata/ok/rules")
	expect(t, code, out, errOut, exitOK, ": 0 changes")
}

// TestRulesExportRoundTrip exports every rule set under testdata in the repository, as CSV
// and natively, and loads the export back: the same rules, the same fingerprint. A directory
// that does not load as a whole (test data of errors, or files meant to be read one by one)
// is tried file by file.
func TestRulesExportRoundTrip(t *testing.T) {
	var sets []string // directories of rules that load
	root := "../.."
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || !strings.Contains(p, "testdata") || strings.Contains(p, "fuzz") {
			return err
		}
		files, _ := filepath.Glob(filepath.Join(p, "*.rules"))
		csvs, _ := filepath.Glob(filepath.Join(p, "*.csv"))
		files = append(files, csvs...)
		if len(files) == 0 {
			return nil
		}
		if _, err := rewrite.NewTable(rewrite.Options{RecipientDelimiter: "+"}).Load(p); err == nil {
			sets = append(sets, p)
			return nil
		}
		for _, f := range files {
			dir := t.TempDir()
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
				return err
			}
			if _, err := rewrite.NewTable(rewrite.Options{RecipientDelimiter: "+"}).Load(dir); err == nil {
				sets = append(sets, dir)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) < 15 {
		t.Fatalf("only %d rule sets found: %q", len(sets), sets)
	}
	for _, set := range sets {
		for _, format := range []string{"csv", "native"} {
			code, out, errOut := edgerewrite(t, "rules", "-c", "testdata/ok/edgerewrite.toml", "-rules", set, "-export", format)
			if code != exitOK {
				t.Errorf("%s: export %s: exit %d: %s", set, format, code, errOut)
				continue
			}
			dir := t.TempDir()
			name := "exported.rules"
			if format == "csv" {
				name = "exported.csv"
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			a, b := ruleDump(t, set), ruleDump(t, dir)
			if !slices.Equal(a, b) {
				t.Errorf("%s exported as %s and loaded back:\n%s\nwant\n%s", set, format, strings.Join(b, "\n"), strings.Join(a, "\n"))
			}
		}
	}
}

// ruleDump loads dir and returns its fingerprint, then each rule as the table has it, in
// the order of internal sides (an export names its own file and lines).
func ruleDump(t *testing.T, dir string) []string {
	t.Helper()
	tb := rewrite.NewTable(rewrite.Options{RecipientDelimiter: "+"})
	st, err := tb.Load(dir)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	var rs []string
	for r := range tb.Snapshot().Rules() {
		rs = append(rs, strings.Join([]string{r.Kind.String(), r.Internal, r.External, strings.Join(r.Exceptions, ","),
			map[bool]string{true: "outbound-only"}[r.OutboundOnly]}, " "))
	}
	slices.Sort(rs)
	return append([]string{st.Fingerprint}, rs...)
}
