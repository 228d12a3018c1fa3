package decide

import (
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/edgerewrite/edgerewrite/policy"
)

// TestWaveHold: a message a cutover list file holds is quarantined as it came, with only the
// hold header added; it is counted and logged by its file:line. A message for recipients of no
// wave is rewritten as always.
func TestWaveHold(t *testing.T) {
	snap, pol := decideFixtures(t, nil)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "wave-03.cutover"),
		[]byte("# sales\nBob@Contoso.com,hold\ndave@fabrikam.com,defer\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var wl policy.WaveLoader
	waves, err := wl.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	wpol, err := pol.WithWaves(waves)
	if err != nil {
		t.Fatal(err)
	}
	g := gen(snap, wpol)
	msg := func(rcpts ...string) Input {
		in := Input{Conn: connInternet, QueueID: "4ABC", From: "x@example.org"}
		for _, r := range rcpts {
			in.Rcpts = append(in.Rcpts, Rcpt{Addr: r})
		}
		return in
	}

	out := Decide(g, msg("bob+news@contoso.com", "alice@contoso.com"), testNow)
	want := []Action{{Kind: AddHeader, Name: HoldHeader, Value: " wave-03.cutover:2 (cutover-hold: bob@contoso.com)"}}
	if out.Action() != policy.Hold || !reflect.DeepEqual(out.Actions, want) {
		t.Errorf("held message: %v, actions %v; want hold with %v", out.Verdict, out.Actions, want)
	}
	if hits := out.CutoverHits(); !reflect.DeepEqual(hits, []CutoverHit{{Action: "hold", File: "wave-03.cutover", Entry: "wave-03.cutover:2"}}) {
		t.Errorf("hits %+v", hits)
	}
	if !slices.ContainsFunc(out.LogAttrs(&Input{}), func(a slog.Attr) bool {
		return a.Key == "cutover" && a.Value.String() == "[wave-03.cutover:2]"
	}) {
		t.Errorf("log line does not name the entry: %v", out.LogAttrs(&Input{}))
	}

	// Hairpin from tenant A: the sender side is rewritten now, the recipients when released.
	hairpin := msg("bob@contoso.com")
	hairpin.Conn, hairpin.From = connTenantA, "john@tenanta.contoso.com"
	out = Decide(g, hairpin, testNow)
	want = []Action{{Kind: ChangeFrom, Addr: "john@contoso.com"}, want[0]}
	if out.Action() != policy.Hold || !reflect.DeepEqual(out.Actions, want) || len(out.Plan.Rcpts) != 0 {
		t.Errorf("held hairpin message: %v, actions %v; want hold with %v", out.Verdict, out.Actions, want)
	}

	out = Decide(g, msg("dave@fabrikam.com", "alice@contoso.com"), testNow)
	if out.Action() != policy.Accept || out.Rcpts[0].Result.Verdict.Source != "wave-03.cutover:3" {
		t.Errorf("deferred recipient: %+v", out.Rcpts[0].Result.Verdict)
	}
	if hits := out.CutoverHits(); len(hits) != 1 || hits[0].Action != "defer" || hits[0].File != "wave-03.cutover" {
		t.Errorf("hits %+v", hits)
	}

	out = Decide(g, msg("alice@contoso.com"), testNow)
	if out.Action() != policy.Accept || len(out.Actions) == 0 || out.Actions[0].Kind == AddHeader || out.CutoverHits() != nil {
		t.Errorf("a message of no wave: %v, %v", out.Verdict, out.Actions)
	}
}
