package rewrite

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFingerprint: two tables on the same rules have the same fingerprint, wherever and however
// the rules are written; an edit changes it, and undoing the edit restores it.
func TestFingerprint(t *testing.T) {
	load := func(t *testing.T, tb *Table, dir string) string {
		t.Helper()
		st, err := tb.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if st.Fingerprint != tb.Snapshot().Fingerprint() || len(st.Fingerprint) != 16 {
			t.Fatalf("fingerprint %q, snapshot %q", st.Fingerprint, tb.Snapshot().Fingerprint())
		}
		return st.Fingerprint
	}
	fresh := func(t *testing.T, dir string) string {
		t.Helper()
		return load(t, NewTable(Options{RecipientDelimiter: "+"}), dir)
	}
	a, b := t.TempDir(), t.TempDir()
	copyDir(t, "testdata/mixed", a)
	copyDir(t, "testdata/mixed", b)
	gw1, gw2 := NewTable(Options{RecipientDelimiter: "+"}), NewTable(Options{RecipientDelimiter: "+"})
	f1, f2 := load(t, gw1, a), load(t, gw2, b)
	if f1 != f2 {
		t.Fatalf("same rules, fingerprints %s and %s", f1, f2)
	}
	if empty := NewTable(Options{}).Snapshot().Fingerprint(); empty == f1 || empty == "" {
		t.Errorf("empty table fingerprint %q", empty)
	}

	users := filepath.Join(b, "users.rules")
	orig, err := os.ReadFile(users)
	if err != nil {
		t.Fatal(err)
	}
	writeDir(t, b, map[string]string{"users.rules": string(orig) + "ann@tenanta.contoso.com ann.lee@contoso.com\n"})
	edited := load(t, gw2, b)
	if edited == f1 {
		t.Fatalf("an added rule left the fingerprint at %s", f1)
	}
	if f := fresh(t, b); f != edited {
		t.Errorf("after an edit: incremental %s, fresh load %s", edited, f)
	}
	writeDir(t, b, map[string]string{"users.rules": "# reordered, renamed file\nmary@tenanta.contoso.com mary.jones@contoso.com\njohn@tenanta.contoso.com john.smith@contoso.com\n"})
	if f := load(t, gw2, b); f != f1 {
		t.Errorf("the same rules in another order: %s, want %s", f, f1)
	}
	writeDir(t, b, map[string]string{"users.rules": "mary@tenanta.contoso.com mary.jones@contoso.com outbound-only\njohn@tenanta.contoso.com john.smith@contoso.com\n"})
	if f := load(t, gw2, b); f == f1 {
		t.Error("outbound-only does not change the fingerprint")
	}

	// The same rules written natively and as an Exchange CSV.
	n, c := t.TempDir(), t.TempDir()
	for dir, name := range map[string]string{n: "same.rules", c: "same.csv"} {
		src, err := os.ReadFile(filepath.Join("testdata/formats", name))
		if err != nil {
			t.Fatal(err)
		}
		writeDir(t, dir, map[string]string{name: string(src)})
	}
	if fn, fc := fresh(t, n), fresh(t, c); fn != fc {
		t.Errorf("native %s, CSV %s", fn, fc)
	}
}
