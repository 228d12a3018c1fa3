package rewrite

import (
	"testing"
)

// TestPrepareAbortKeepsTable shows that a prepared load serves nothing until committed: the
// table in service answers as before while the prepared snapshot already answers with the new
// rules, an abort leaves the table as it was, and the next load diffs against what is in
// service, not against the aborted files.
func TestPrepareAbortKeepsTable(t *testing.T) {
	dir := t.TempDir()
	writeDir(t, dir, map[string]string{"a.rules": "john@tenanta.contoso.com john@contoso.com\n"})
	tb := NewTable(Options{RecipientDelimiter: "+"})
	if _, err := tb.Load(dir); err != nil {
		t.Fatal(err)
	}
	outbound := func(s *Snapshot, addr string) string {
		t.Helper()
		got, _, _ := s.Rewrite(addr, Outbound)
		return got
	}

	writeDir(t, dir, map[string]string{"a.rules": "john@tenanta.contoso.com john.doe@contoso.com\n"})
	p, err := tb.Prepare(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := outbound(p.Snapshot(), "john@tenanta.contoso.com"); got != "john.doe@contoso.com" {
		t.Errorf("prepared snapshot: %s, want john.doe@contoso.com", got)
	}
	if got := outbound(tb.Snapshot(), "john@tenanta.contoso.com"); got != "john@contoso.com" {
		t.Errorf("in service while prepared: %s, want john@contoso.com", got)
	}
	p.Abort()
	p.Abort() // a second end is harmless
	if got := outbound(tb.Snapshot(), "john@tenanta.contoso.com"); got != "john@contoso.com" {
		t.Errorf("in service after abort: %s, want john@contoso.com", got)
	}

	// The file is still changed on disk: the next load must see it as changed.
	st, err := tb.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.FilesParsed != 1 {
		t.Errorf("files parsed after abort: %d, want 1", st.FilesParsed)
	}
	if got := outbound(tb.Snapshot(), "john@tenanta.contoso.com"); got != "john.doe@contoso.com" {
		t.Errorf("after load: %s, want john.doe@contoso.com", got)
	}

	p, err = tb.Prepare(dir)
	if err != nil {
		t.Fatal(err)
	}
	if snap := p.Commit(); snap != tb.Snapshot() {
		t.Error("Commit did not return the snapshot in service")
	}
	p.Abort() // after Commit: nothing to undo, and no deadlock below
	if _, err := tb.Load(dir); err != nil {
		t.Fatal(err)
	}
}
