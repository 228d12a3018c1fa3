package rewrite

import (
	"cmp"
	"slices"
	"strings"
)

// RuleChange is one difference between two rule sets, as Diff finds it: a rule added (Old is
// nil), removed (New is nil) or changed (both: the same internal side, something else
// different). A rule only moved to another file or line, or renamed, is no change.
type RuleChange struct {
	Old, New *Rule
	// Effects are the addresses whose result changes, in either direction.
	Effects []Effect
}

// Effect is an address whose rewrite differs between two rule sets: Old and New are what it
// becomes in each (the address itself when no rule applies). "*@domain" stands for any address
// of the domain that has no rule of its own.
type Effect struct {
	Direction Direction
	Address   string
	Old, New  string
}

// Diff compares the rules of old and new (say, those in service and those about to be
// deployed). Rules are paired by their internal side; a pair whose kind, sides as written,
// outbound-only or exceptions differ is changed. For each change it asks both snapshots
// (Rewrite, so precedence is the real one) about the addresses the rule names: its internal
// side outbound and its external side inbound, of the old and of the new rule, a domain as
// "*@domain". Changes come in the order of the new set's files and lines, removals after.
func Diff(old, new *Snapshot) []RuleChange {
	index := func(s *Snapshot) map[string]*compiled {
		m := map[string]*compiled{}
		for c := range s.all() {
			m[c.internalKey()] = c
		}
		return m
	}
	om, nm := index(old), index(new)
	var out []RuleChange
	for c := range new.all() {
		o := om[c.internalKey()]
		switch {
		case o == nil:
			out = append(out, RuleChange{New: &c.Rule})
		case o.digest() != c.digest():
			out = append(out, RuleChange{Old: &o.Rule, New: &c.Rule})
		}
	}
	var removed []RuleChange
	for c := range old.all() {
		if nm[c.internalKey()] == nil {
			removed = append(removed, RuleChange{Old: &c.Rule})
		}
	}
	slices.SortFunc(removed, func(a, b RuleChange) int {
		return cmp.Or(cmp.Compare(a.Old.Pos.File, b.Old.Pos.File), cmp.Compare(a.Old.Pos.Line, b.Old.Pos.Line))
	})
	out = append(out, removed...)
	for i := range out {
		out[i].Effects = effects(old, new, out[i].Old, out[i].New)
	}
	return out
}

// internalKey identifies a rule's internal side: kind and lookup form.
func (c *compiled) internalKey() string {
	return c.Kind.String() + " " + c.in.local + "@" + c.in.domain
}

// effects asks both snapshots about the addresses rules a and b (either may be nil) name.
func effects(old, new *Snapshot, rules ...*Rule) []Effect {
	type probe struct {
		d    Direction
		addr string
	}
	var probes []probe
	for _, r := range rules {
		if r == nil {
			continue
		}
		in, ex := r.Internal, r.External
		switch r.Kind {
		case KindDomain:
			in, ex = anyLocal+"@"+in, anyLocal+"@"+ex
		case KindWildcard:
			in = anyLocal + "@" + strings.TrimPrefix(in, "*.")
		}
		probes = append(probes, probe{Outbound, strings.TrimSuffix(in, ".")})
		if !r.OutboundOnly {
			probes = append(probes, probe{Inbound, strings.TrimSuffix(ex, ".")})
		}
	}
	var es []Effect
	seen := map[probe]bool{}
	for _, p := range probes {
		if seen[p] {
			continue
		}
		seen[p] = true
		o, _, _ := old.Rewrite(p.addr, p.d)
		n, _, _ := new.Rewrite(p.addr, p.d)
		if o != n {
			es = append(es, Effect{Direction: p.d, Address: p.addr, Old: o, New: n})
		}
	}
	return es
}
