package rewrite

import (
	"cmp"
	"log/slog"
	"slices"
	"strings"

	memdb "github.com/hashicorp/go-memdb"
)

// The whole-set checks of a load, beyond the key clashes batch.build finds: the round trip of
// every bidirectional rule, and Names used twice. They run over the table as the load leaves
// it (in the memdb write transaction, before commit) and look at what the load touches only.
//
// Round trip. What leaves by a bidirectional rule must come back to the same mailbox:
// inbound(outbound(x)) = x. Address rules always come back (a second rule claiming the same
// external address is ErrCollision), so the one way to break it is a bidirectional domain rule
// R (tenanta.contoso.com -> contoso.com) whose external domain also holds the external address
// of a bidirectional address rule B (mary@tenantb.contoso.com -> mary@contoso.com): x =
// mary@tenanta.contoso.com, if no address rule of its own takes it first, leaves by R as
// mary@contoso.com, and B, the more specific rule inbound, sends every reply to
// mary@tenantb.contoso.com. When B's mailbox is in another domain than R's (another tenant or
// system) that is misdelivery, and the load is refused (ErrRoundTrip). When it is in the same
// domain (john.smith@tenanta -> john@contoso beside tenanta -> contoso) the two are usually
// one person's addresses, as on Exchange Edge; that is a warning, one per domain rule.
//
// What a load can break: an added B (look up R by its external domain), an added R (every B
// of R's external domain: a scan, as domain rules are few and rarely edited), and a removed
// address rule that took x first (look up R by x's domain, then B). A full load checks every B
// with one lookup each.

// setCheck is the whole-set check of one load.
type setCheck struct {
	t              *Table
	b              *batch
	next           map[string]*fileState
	removed, added []*compiled
	warnings       []Notice
}

func (t *Table) newSetCheck(b *batch, next map[string]*fileState) *setCheck {
	return &setCheck{t: t, b: b, next: next, removed: b.rules[:b.removed], added: b.rules[b.removed:]}
}

// full reports whether the load adds every rule of the table (the first load).
func (sc *setCheck) full() bool {
	if len(sc.removed) > 0 {
		return false
	}
	n := 0
	for _, f := range sc.next {
		n += len(f.rules)
	}
	return n == len(sc.added)
}

// run is batch.commit's check: txn and used are the table as the load leaves it.
func (sc *setCheck) run(txn *memdb.Txn, used bucketSet) []error {
	t := sc.t
	view := &Snapshot{txn: txn, opts: t.opts, seed: t.seed, counts: sc.b.counts, used: used, ids: t.ids}
	full := sc.full()
	errs := sc.roundTrip(view, full)
	sc.duplicateNames(full)
	return errs
}

// allRules calls fn for every rule of the files of the load's result.
func (sc *setCheck) allRules(fn func(c *compiled)) {
	for _, f := range sc.next {
		for _, c := range f.rules {
			fn(c)
		}
	}
}

func bidirectionalAddress(c *compiled) bool { return c.Kind == KindAddress && !c.OutboundOnly }

// roundTrip checks the bidirectional address rules the load may have put in conflict with a
// bidirectional domain rule.
func (sc *setCheck) roundTrip(view *Snapshot, full bool) []error {
	if view.counts[inDomain] == 0 || view.counts[inAddress] == 0 {
		return nil
	}
	cands := make([]*compiled, 0, len(sc.added))
	for _, c := range sc.added {
		if bidirectionalAddress(c) {
			cands = append(cands, c)
		}
	}
	if !full {
		exDomains := map[string]bool{}
		for _, c := range sc.added {
			if c.Kind == KindDomain && !c.OutboundOnly {
				exDomains[c.ex.domain] = true
			}
		}
		if len(exDomains) > 0 {
			sc.allRules(func(c *compiled) {
				if bidirectionalAddress(c) && exDomains[c.ex.domain] {
					cands = append(cands, c)
				}
			})
		}
		for _, c := range sc.removed {
			if c.Kind != KindAddress {
				continue
			}
			if r := view.find(outDomain, "", c.in.domain); r != nil && !r.OutboundOnly {
				if b := view.find(inAddress, c.in.local, r.ex.domain); b != nil {
					cands = append(cands, b)
				}
			}
		}
		slices.SortFunc(cands, func(a, b *compiled) int {
			return cmp.Or(cmp.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line))
		})
		cands = slices.Compact(cands)
	}
	// The domain rule of each candidate's external domain (few distinct), then whether an
	// address rule takes x first, for all candidates at once (findMany reads each bucket once:
	// a million single finds cost seconds of memdb tree walks).
	var (
		byExt = map[string]*compiled{}
		pairs = make([]roundTripPair, 0, len(cands))
		keys  = make([]normAddr, 0, len(cands))
	)
	for _, b := range cands {
		r, seen := byExt[b.ex.domain]
		if !seen {
			r = view.find(inDomain, "", b.ex.domain)
			byExt[b.ex.domain] = r
		}
		if r == nil || (b.in.local == b.ex.local && b.in.domain == r.in.domain) {
			continue // no domain rule, or b is x's own rule
		}
		pairs = append(pairs, roundTripPair{r: r, b: b})
		keys = append(keys, normAddr{local: b.ex.local, domain: r.in.domain})
	}
	own := view.findMany(outAddress, keys)
	var (
		errs     []error
		sameDom  = map[*compiled]*sameDomainReturn{}
		domRules []*compiled
	)
	for i, p := range pairs {
		r, b := p.r, p.b
		if own[i] != nil || view.baseTakes(r, b) {
			continue
		}
		if b.in.domain == r.in.domain {
			// One example per domain rule: the warning names the first and counts the rest.
			if s := sameDom[r]; s != nil {
				s.n++
				continue
			}
			if x, out, back := roundTripExample(view, r, b); x != "" {
				sameDom[r] = &sameDomainReturn{x: x, out: out, back: back, b: b, n: 1}
				domRules = append(domRules, r)
			}
			continue
		}
		x, out, back := roundTripExample(view, r, b)
		if x == "" {
			continue // Rewrite disagrees: trust Rewrite, the one statement of precedence
		}
		errs = append(errs, errAt(b.Pos.File, b.Pos.Line, ErrRoundTrip,
			": %s leaves as %s by the rule at %s (%s -> %s), and replies to %s go to %s by the rule at %s (%s -> %s); "+
				"give %s a rule of its own or make one of the two rules outbound-only",
			x, out, r.Pos, r.Internal, r.External, out, back, b.Pos, b.Internal, b.External, x))
	}
	for _, r := range domRules {
		s := sameDom[r]
		sc.warnings = append(sc.warnings, noticeAt(r.Pos, slog.LevelWarn,
			"by this rule (%s -> %s), %d %s of %s %s as an address that another rule maps back to a different mailbox of %s, "+
				"e.g. %s leaves as %s and replies go to %s (rule at %s); that is right only when both are addresses of one mailbox",
			r.Internal, r.External, s.n, pluralWord(s.n, "address", "addresses"), r.Internal, pluralWord(s.n, "leaves", "leave"),
			r.Internal, s.x, s.out, s.back, s.b.Pos))
	}
	return errs
}

// sameDomainReturn is the first example of a round trip back into the domain rule's own
// domain, and how many there are.
type sameDomainReturn struct {
	x, out, back string
	b            *compiled
	n            int
}

// roundTripPair is a bidirectional domain rule r and a bidirectional address rule b of r's
// external domain: x, b's external local part at r's internal domain, leaves by r unless an
// address rule takes it first, and comes back by b.
type roundTripPair struct{ r, b *compiled }

// baseTakes reports whether x (see roundTripPair) has an extension whose base address has an
// address rule, which Rewrite then takes before r.
func (s *Snapshot) baseTakes(r, b *compiled) bool {
	local, _, _ := SplitAddress(b.External)
	base, _ := SplitExtension(local, s.opts.RecipientDelimiter)
	return base != "" && s.find(outAddress, NormalizeLocal(base), r.in.domain) != nil
}

// roundTripExample writes the example of a round trip through domain rule r and address rule
// b with Rewrite itself: x leaves as out by r, and out comes back as back by b. x is "" when
// Rewrite does not take that path.
func roundTripExample(s *Snapshot, r, b *compiled) (x, out, back string) {
	local, _, _ := SplitAddress(b.External)
	x = local + "@" + strings.TrimSuffix(r.Internal, ".")
	out, r1, ok := s.Rewrite(x, Outbound)
	if !ok || r1 != &r.Rule {
		return "", "", ""
	}
	back, r2, ok := s.Rewrite(out, Inbound)
	if !ok || r2 != &b.Rule {
		return "", "", ""
	}
	return x, out, back
}

// duplicateNames warns of CSV Names used by more than one rule (Exchange keeps Names unique,
// case-insensitively, as the entry's identity), when the load added one of them.
func (sc *setCheck) duplicateNames(full bool) {
	named := false
	for _, c := range sc.added {
		if c.Name != "" {
			named = true
			break
		}
	}
	if !named {
		return
	}
	first := map[string]*compiled{}
	var dups [][2]*compiled // later holder, first holder
	add := func(c *compiled) {
		if c.Name == "" {
			return
		}
		k := strings.ToLower(c.Name)
		f, ok := first[k]
		switch {
		case !ok:
			first[k] = c
		case posLess(c.Pos, f.Pos):
			first[k] = c
			dups = append(dups, [2]*compiled{f, c})
		default:
			dups = append(dups, [2]*compiled{c, f})
		}
	}
	var added map[*compiled]bool
	if full {
		for _, c := range sc.added {
			add(c)
		}
	} else {
		sc.allRules(add)
		added = make(map[*compiled]bool, len(sc.added))
		for _, c := range sc.added {
			added[c] = true
		}
	}
	for _, d := range dups {
		f := first[strings.ToLower(d[0].Name)]
		if added != nil && !added[d[0]] && !added[f] {
			continue
		}
		sc.warnings = append(sc.warnings, noticeAt(d[0].Pos, slog.LevelWarn,
			"Name %q is also the Name of the rule at %s: Exchange keeps Names unique, and Set- or Remove-AddressRewriteEntry would not know which one you mean", d[0].Name, f.Pos))
	}
}

func posLess(a, b Position) bool {
	return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line)) < 0
}

// finish records in snap (the snapshot the load puts in service) what the load added and its
// notices: those of the files it parsed, then the whole-set warnings, in file and line order.
func (sc *setCheck) finish(snap *Snapshot, parsed []*parsedFile) {
	snap.added = sc.added
	var ns []Notice
	for _, f := range parsed {
		ns = append(ns, f.notices...)
	}
	ns = append(ns, sc.warnings...)
	slices.SortStableFunc(ns, func(a, b Notice) int {
		return cmp.Or(cmp.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line))
	})
	snap.stats.Notices = boundNotices(ns)
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
