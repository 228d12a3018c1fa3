package rewrite

import (
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// noticeTexts returns the notices as `check` prints them, with dir/ taken off the paths.
func noticeTexts(ns []Notice, dir string) []string {
	var out []string
	for _, n := range ns {
		out = append(out, strings.ReplaceAll(n.String(), dir+string(filepath.Separator), ""))
	}
	return out
}

// wantAll fails unless s holds every one of wants.
func wantAll(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, s)
		}
	}
}

// TestRoundTripCollision is tenant A's domain rule beside tenant B's user: tenant A's
// mary@tenanta.contoso.com would leave as mary@contoso.com and her replies reach tenant B.
func TestRoundTripCollision(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "testdata/sets/collision", dir)
	tb := NewTable(Options{RecipientDelimiter: "+"})
	_, err := tb.Load(dir)
	if !errors.Is(err, ErrRoundTrip) {
		t.Fatalf("got %v, want ErrRoundTrip", err)
	}
	got := loadErrors(t, err, dir)
	if len(got) != 1 {
		t.Fatalf("got %d errors, want 1:\n%s", len(got), strings.Join(got, "\n"))
	}
	wantAll(t, "the error", got[0], "tenant-b.rules:2: ", "tenant-a.rules:2", "mary@tenanta.contoso.com", "mary@contoso.com", "mary@tenantb.contoso.com")
	if st := tb.Snapshot().Stats(); st.Rules != 0 {
		t.Errorf("a refused load put %d rules in service", st.Rules)
	}
}

// TestRoundTripIncremental checks that an edit is checked against the rules in service, by
// each way an edit can break the round trip, and that a refused edit keeps the table.
func TestRoundTripIncremental(t *testing.T) {
	const (
		domainRule = "tenanta.contoso.com contoso.com\n"
		maryB      = "mary@tenantb.contoso.com mary@contoso.com\n"
		maryA      = "mary@tenanta.contoso.com mary.a@contoso.com\n"
	)
	for _, tc := range []struct {
		name        string
		start, edit map[string]string
	}{
		{"add tenant B's user", map[string]string{"a.rules": domainRule}, map[string]string{"b.rules": maryB}},
		{"add tenant A's domain rule", map[string]string{"b.rules": maryB, "a.rules": "# none yet\n"}, map[string]string{"a.rules": domainRule}},
		{"remove the rule that took mary@tenanta first", map[string]string{"a.rules": domainRule + maryA, "b.rules": maryB}, map[string]string{"a.rules": domainRule}},
		{"make the domain rule bidirectional", map[string]string{"a.rules": "tenanta.contoso.com contoso.com outbound-only\n", "b.rules": maryB}, map[string]string{"a.rules": domainRule}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeDir(t, dir, tc.start)
			tb := NewTable(Options{RecipientDelimiter: "+"})
			if _, err := tb.Load(dir); err != nil {
				t.Fatalf("start: %v", err)
			}
			before := tb.Snapshot()
			writeDir(t, dir, tc.edit)
			_, err := tb.Load(dir)
			if !errors.Is(err, ErrRoundTrip) {
				t.Fatalf("edit: got %v, want ErrRoundTrip", err)
			}
			wantAll(t, "the error", err.Error(), "mary@tenanta.contoso.com", "b.rules:1", "a.rules:1")
			if tb.Snapshot() != before {
				t.Error("a refused edit replaced the snapshot")
			}
			if out, _, _ := tb.Snapshot().Rewrite("mary@contoso.com", Inbound); out != "mary@tenantb.contoso.com" && len(tc.start["b.rules"]) > 0 {
				t.Errorf("after the refused edit mary@contoso.com goes to %q", out)
			}
		})
	}
}

// TestRoundTripFine lists rule sets whose round trips hold: no error, no warning.
func TestRoundTripFine(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"tenant A's mary has a rule of her own": {"a.rules": "tenanta.contoso.com contoso.com\nmary@tenanta.contoso.com mary.a@contoso.com outbound-only\n", "b.rules": "mary@tenantb.contoso.com mary@contoso.com\n"},
		"tenant B's user is outbound-only":      {"a.rules": "tenanta.contoso.com contoso.com\n", "b.rules": "mary@tenantb.contoso.com mary@contoso.com outbound-only\n"},
		"the domain rule is outbound-only":      {"a.rules": "tenanta.contoso.com contoso.com outbound-only\n", "b.rules": "mary@tenantb.contoso.com mary@contoso.com\n"},
		"another external domain":               {"a.rules": "tenanta.contoso.com contoso.com\n", "b.rules": "mary@tenantb.contoso.com mary@fabrikam.com\n"},
		"the address rule of the same mailbox":  {"a.rules": "tenanta.contoso.com contoso.com\nmary@tenanta.contoso.com Mary@contoso.com\n"},
		"extension taken by its base rule":      {"a.rules": "tenanta.contoso.com contoso.com\nmary@tenanta.contoso.com mary.a@contoso.com outbound-only\n", "b.rules": "mary+x@tenantb.contoso.com mary+x@contoso.com\n"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeDir(t, dir, files)
			st, err := NewTable(Options{RecipientDelimiter: "+"}).Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Notices) > 0 {
				t.Errorf("notices: %v", st.Notices)
			}
		})
	}
}

// TestRoundTripSameDomain: replies that come back into the domain rule's own domain are a
// warning, one per domain rule, not an error.
func TestRoundTripSameDomain(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "testdata/sets/samedomain", dir)
	st, err := NewTable(Options{RecipientDelimiter: "+"}).Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := noticeTexts(st.Notices, dir)
	if len(got) != 1 || st.Notices[0].Level != slog.LevelWarn {
		t.Fatalf("got %q, want one warning", got)
	}
	wantAll(t, "the warning", got[0], "tenant-a.rules:1: warning: ", "john@tenanta.contoso.com leaves as john@contoso.com", "replies go to john.smith@tenanta.contoso.com", "tenant-a.rules:2")
}

func TestOutsideOrganization(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "testdata/sets/newbrand", dir)
	tb := NewTable(Options{RecipientDelimiter: "+"})
	if _, err := tb.Load(dir); err != nil {
		t.Fatal(err)
	}
	var asked []string
	isOrg := func(d string) bool {
		asked = append(asked, d)
		return d == "contoso.com" || strings.HasSuffix(d, ".contoso.com")
	}
	got := noticeTexts(OutsideOrganization(tb.Snapshot().Rules(), isOrg), dir)
	if len(got) != 1 {
		t.Fatalf("got %q, want one warning", got)
	}
	wantAll(t, "the warning", got[0], "tenant-a.rules:2: warning: newbrand.example ", "2 rules", "tenant-a.rules:2 (kim@tenanta.contoso.com -> kim@newbrand.example)",
		"tenant-a.rules:3 (lee@tenanta.contoso.com -> lee@NewBrand.example)", "refused as relaying")
	if slices.Contains(asked, "NewBrand.example") {
		t.Errorf("isOrg was asked %q, not the lookup form", asked)
	}
	if ns := OutsideOrganization(tb.Snapshot().Rules(), func(string) bool { return true }); ns != nil {
		t.Errorf("all domains the organisation's, still: %v", ns)
	}
	// Only an outbound-only rule: no relaying refusal to speak of.
	ns := OutsideOrganization(func(yield func(*Rule) bool) {
		yield(&Rule{Internal: "a@x.example", External: "a@y.example", Kind: KindAddress, OutboundOnly: true})
	}, func(string) bool { return false })
	if len(ns) != 1 || strings.Contains(ns[0].Msg, "relaying") {
		t.Errorf("outbound-only: %v", ns)
	}
}

func TestDuplicateNames(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "testdata/sets/names", dir)
	tb := NewTable(Options{RecipientDelimiter: "+"})
	st, err := tb.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`edge2.csv:3: warning: Name "john" is also the Name of the rule at edge1.csv:2: ` +
		`Exchange keeps Names unique, and Set- or Remove-AddressRewriteEntry would not know which one you mean`}
	if got := noticeTexts(st.Notices, dir); !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// An edit elsewhere does not repeat it; an edit of one of the two does.
	writeDir(t, dir, map[string]string{"other.rules": "x@tenanta.contoso.com x@contoso.com\n"})
	if st, err = tb.Load(dir); err != nil || len(st.Notices) != 0 {
		t.Errorf("unrelated edit: %v %v", st.Notices, err)
	}
	writeDir(t, dir, map[string]string{"edge1.csv": "Name,InternalAddress,ExternalAddress\r\nJOHN,john@tenanta.contoso.com,john.smith@contoso.com\r\n"})
	if st, err = tb.Load(dir); err != nil || len(st.Notices) != 1 {
		t.Errorf("edit of a holder: %v %v", st.Notices, err)
	}
}

// TestExchangeExportNotices loads Exchange exports as they come: type-name ExceptionLists on
// address and domain rows and a Windows-1252 file load, each with one notice per file.
func TestExchangeExportNotices(t *testing.T) {
	for _, tc := range []struct {
		file  string
		rules int
		want  string
	}{
		{"export-raw.csv", 3, "export-raw.csv:3: notice: the ExceptionList of 3 address or domain rows is a .NET type name"},
		{"export-remote.csv", 2, "export-remote.csv:2: notice: the ExceptionList of 2 address or domain rows is a .NET type name"},
		{"excel-windows1252.csv", 3, "excel-windows1252.csv: notice: not UTF-8: read as Windows-1252"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, "testdata/good", dir)
			for _, m := range []string{"*.rules", "*.csv"} {
				others, _ := filepath.Glob(filepath.Join(dir, m))
				for _, o := range others {
					if filepath.Base(o) != tc.file {
						writeDir(t, dir, map[string]string{filepath.Base(o): "-"})
					}
				}
			}
			st, err := NewTable(Options{RecipientDelimiter: "+"}).Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			var infos []Notice
			for _, n := range st.Notices {
				if n.Level == slog.LevelInfo {
					infos = append(infos, n)
				}
			}
			got := noticeTexts(infos, dir)
			if st.Rules != tc.rules || len(got) != 1 || !strings.HasPrefix(got[0], tc.want) {
				t.Errorf("%d rules, notices %q; want %d rules and one notice %q", st.Rules, got, tc.rules, tc.want)
			}
		})
	}
}
