package rewrite

import (
	"fmt"
	"strings"
)

// Candidate is a rule that could apply to an address or a domain, as Snapshot.Match lists it.
type Candidate struct {
	Rule      *Rule
	Direction Direction
	// How says how the rule is found: "address", "address without extension", "domain",
	// "wildcard", or, for a domain asked about, "address of the domain" (a rule for one
	// address of it, which takes that address before any domain or wildcard rule).
	How string
	// Excepted is a wildcard whose exceptions cover what was asked: listed, but it does not
	// apply.
	Excepted bool
	// Winner is the rule Rewrite applies in Direction; for a domain asked about, to an address
	// of it that has no rule of its own.
	Winner bool
	// Result is what the address becomes by the winner ("*@domain" for a domain asked about);
	// empty for the others.
	Result string
}

// anyLocal is the local part Match and Diff give a domain to ask Rewrite about it: no rule can
// have it, since a rule's local part is never "*" (see ruleAddress).
const anyLocal = "*"

// Match lists every rule that could apply to q, an address or a domain, in both directions,
// outbound first, each in Rewrite's order of precedence, the winner of each direction marked.
// For an address: its address rule, the rule of the address without its extension, its
// domain's rule, then (outbound) every wildcard from the most specific. For a domain: the
// address rules of its addresses first (a scan of the whole set), then the domain and
// wildcard rules. The winner comes from Rewrite itself, so it is what mail gets.
func (s *Snapshot) Match(q string) ([]Candidate, error) {
	q = strings.TrimSpace(q)
	isDomain := !strings.Contains(q, "@")
	addr := q
	if isDomain {
		addr = anyLocal + "@" + q
	}
	nl, nd, err := lookupForm(addr)
	if err != nil {
		return nil, fmt.Errorf("%q is neither an address nor a domain: %w", q, err)
	}
	local, _, _ := SplitAddress(addr)
	var cs []Candidate
	for _, d := range []Direction{Outbound, Inbound} {
		byAddress, byDomain := outAddress, outDomain
		if d == Inbound {
			byAddress, byDomain = inAddress, inDomain
		}
		var dc []Candidate
		if isDomain {
			for c := range s.all() {
				if c.Kind != KindAddress || (d == Inbound && c.OutboundOnly) {
					continue
				}
				side := c.in
				if d == Inbound {
					side = c.ex
				}
				if side.domain == nd {
					dc = append(dc, Candidate{Rule: &c.Rule, Direction: d, How: "address of the domain"})
				}
			}
		} else {
			if c := s.find(byAddress, nl, nd); c != nil {
				dc = append(dc, Candidate{Rule: &c.Rule, Direction: d, How: "address"})
			}
			if base, _ := SplitExtension(local, s.opts.RecipientDelimiter); base != "" {
				if c := s.find(byAddress, NormalizeLocal(base), nd); c != nil {
					dc = append(dc, Candidate{Rule: &c.Rule, Direction: d, How: "address without extension"})
				}
			}
		}
		if c := s.find(byDomain, "", nd); c != nil {
			dc = append(dc, Candidate{Rule: &c.Rule, Direction: d, How: "domain"})
		}
		if d == Outbound {
			for sfx := nd; ; {
				if c := s.find(outWildcard, "", sfx); c != nil {
					dc = append(dc, Candidate{Rule: &c.Rule, Direction: d, How: "wildcard", Excepted: c.excepted(nd)})
				}
				i := strings.IndexByte(sfx, '.')
				if i < 0 {
					break
				}
				sfx = sfx[i+1:]
			}
		}
		if out, r, ok := s.Rewrite(addr, d); ok {
			for i := range dc {
				if dc[i].Rule == r && dc[i].How != "address of the domain" {
					dc[i].Winner, dc[i].Result = true, out
					break
				}
			}
		}
		cs = append(cs, dc...)
	}
	return cs, nil
}
