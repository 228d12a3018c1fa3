package decide

import (
	"testing"

	"github.com/edgerewrite/edgerewrite/rewrite"
)

// countingLookup rewrites every address to "new-" + address outbound and counts its calls.
type countingLookup struct{ calls map[string]int }

func (c *countingLookup) Rewrite(addr string, d rewrite.Direction) (string, *rewrite.Rule, bool) {
	c.calls[addr+"/"+d.String()]++
	if d == rewrite.Outbound {
		return "new-" + addr, &rewrite.Rule{}, true
	}
	return addr, nil, false
}

// TestMemoLookup: each address is looked up once per direction, and every later answer is the
// first one.
func TestMemoLookup(t *testing.T) {
	c := &countingLookup{calls: map[string]int{}}
	m := &memoLookup{l: c}
	for range 3 {
		for _, addr := range []string{"a@x", "b@x", "A@x", "a@x"} {
			for _, d := range []rewrite.Direction{rewrite.Outbound, rewrite.Inbound} {
				want, wantRule, wantOK := c.Rewrite(addr, d)
				c.calls[addr+"/"+d.String()]--
				got, rule, ok := m.Rewrite(addr, d)
				if got != want || ok != wantOK || (rule == nil) != (wantRule == nil) {
					t.Errorf("%s %v: (%q, %v), want (%q, %v)", addr, d, got, ok, want, wantOK)
				}
			}
		}
	}
	for k, n := range c.calls {
		if n != 1 {
			t.Errorf("%s looked up %d times, want once", k, n)
		}
	}
	if len(c.calls) != 6 {
		t.Errorf("%d distinct lookups, want 6 (3 spellings, 2 directions): %v", len(c.calls), c.calls)
	}
}
