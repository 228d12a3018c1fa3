package rewrite

import (
	"fmt"
	"iter"
	"log/slog"
	"maps"
	"slices"
	"strings"
)

// Rules yields the snapshot's rules in file order (path as Load saw it), then line order. The
// rules are shared with the table: the caller must not modify them.
func (s *Snapshot) Rules() iter.Seq[*Rule] {
	return func(yield func(*Rule) bool) {
		for c := range s.all() {
			if !yield(&c.Rule) {
				return
			}
		}
	}
}

// all yields the compiled rules of the snapshot in the order of Rules.
func (s *Snapshot) all() iter.Seq[*compiled] {
	return func(yield func(*compiled) bool) {
		for _, p := range slices.Sorted(maps.Keys(s.files)) {
			for _, c := range s.files[p].rules {
				if !yield(c) {
					return
				}
			}
		}
	}
}

// Added yields the rules the load that made this snapshot added or changed (every rule on the
// first load), so a caller can check only those after a reload, as with OutsideOrganization.
func (s *Snapshot) Added() iter.Seq[*Rule] {
	return func(yield func(*Rule) bool) {
		for _, c := range s.added {
			if !yield(&c.Rule) {
				return
			}
		}
	}
}

// maxNamed is how many rules a warning about many rules names.
const maxNamed = 3

// OutsideOrganization warns of external sides outside the organisation's domains, one
// warning per external domain that isOrg rejects, naming the domain and its first rules. Inbound
// mail for such a domain is refused as relaying, so a bidirectional rule to it can never bring
// a reply back; an outbound-only rule to it sends mail out as an address the organisation does
// not receive for. isOrg gets the domain in lookup form (lower case, A-labels, no trailing
// dot); the daemon and `check` pass the policy's organisation domains. Pass Snapshot.Rules for
// the whole set, or Snapshot.Added for what a reload changed.
func OutsideOrganization(rules iter.Seq[*Rule], isOrg func(domain string) bool) []Notice {
	type outside struct {
		domain        string
		rules         []*Rule
		n             int
		bidirectional bool
	}
	known := map[string]*outside{} // by External's domain as written: few distinct values
	var order []*outside
	for r := range rules {
		d := r.External
		if r.Kind == KindAddress {
			_, d, _ = SplitAddress(d)
		}
		o, seen := known[d]
		if !seen {
			nd, err := NormalizeDomain(d)
			if err == nil && !isOrg(nd) {
				o = &outside{domain: nd}
				order = append(order, o)
			}
			known[d] = o
		}
		if o == nil {
			continue
		}
		o.n++
		o.bidirectional = o.bidirectional || !r.OutboundOnly
		if len(o.rules) < maxNamed {
			o.rules = append(o.rules, r)
		}
	}
	// Two spellings of one domain (case, U-label) are one warning.
	merged := map[string]*outside{}
	var ns []Notice
	for _, o := range order {
		if m := merged[o.domain]; m != nil {
			m.n += o.n
			m.bidirectional = m.bidirectional || o.bidirectional
			for _, r := range o.rules {
				if len(m.rules) < maxNamed {
					m.rules = append(m.rules, r)
				}
			}
			continue
		}
		merged[o.domain] = o
	}
	for _, o := range order {
		if merged[o.domain] != o {
			continue
		}
		var names []string
		for _, r := range o.rules {
			names = append(names, fmt.Sprintf("%s (%s -> %s)", r.Pos, r.Internal, r.External))
		}
		if o.n > len(o.rules) {
			names = append(names, fmt.Sprintf("and %d more", o.n-len(o.rules)))
		}
		why := "mail leaves with a sender address the organisation does not receive mail for"
		if o.bidirectional {
			why = "inbound mail for it is refused as relaying, so replies never come back"
		}
		ns = append(ns, noticeAt(o.rules[0].Pos, slog.LevelWarn,
			"%s is not one of the organisation's domains, but it is the external side of %d %s: %s; %s (add it to [organization] domains if it is yours)",
			o.domain, o.n, pluralWord(o.n, "rule", "rules"), strings.Join(names, ", "), why))
	}
	return ns
}
