package rewrite

import (
	"fmt"
	"hash/maphash"
	"slices"

	memdb "github.com/hashicorp/go-memdb"
)

// batch is the difference one load makes to the table, and the validation of the whole rule
// set that goes with it. Every removed and added rule contributes one op per lookup key; ops
// are grouped by bucket, and each touched bucket is rebuilt once, beside the committed one:
// the committed slots minus the removed rules, plus the added ones. A key held twice is found
// right there, whether the other holder is a rule that stays (committed slot) or another new
// rule (added earlier in the group), so validation costs O(changed rules), not O(all rules).
// Nothing is written until commit, so a rejected load leaves the table as it was.
type batch struct {
	read    *memdb.Txn
	seed    maphash.Seed
	ids     *bucketIDs
	empty   bool        // the committed table has no rules: no bucket to read
	rules   []*compiled // the removed rules, then the added ones
	removed int         // how many of rules are removed
	ops     []op
	counts  [numLookupKinds]int
	buckets []pending // rebuilt buckets, in id order
	errs    []error
}

// op removes or adds the key of one lookup kind of rules[rule]. It holds no pointer, so the
// two million ops of a full load cost the garbage collector nothing to scan.
type op struct {
	hash uint64
	id   uint32 // bucket number (bucketOf)
	rule uint32 // index into batch.rules
}

type pending struct {
	n       uint32
	b       *bucket
	existed bool // in the committed table: an emptied bucket is deleted
}

// newBatch starts the batch that removes and adds rules.
func (t *Table) newBatch(removed, added []*compiled) *batch {
	b := &batch{read: t.db.Txn(false), seed: t.seed, ids: t.ids, counts: t.counts, empty: true,
		rules: slices.Concat(removed, added), removed: len(removed)}
	for _, n := range t.counts {
		if n > 0 {
			b.empty = false
		}
	}
	b.ops = make([]op, 0, 2*len(b.rules))
	for i, c := range b.rules {
		c.keys(func(k lookupKind, local, domain string) {
			h := keyHash(b.seed, k, local, domain)
			b.ops = append(b.ops, op{hash: h, id: bucketOf(k, h), rule: uint32(i)})
		})
	}
	return b
}

// keys calls fn for each lookup key of c: its internal side, and its external side when it
// is bidirectional (wildcards never are).
func (c *compiled) keys(fn func(k lookupKind, local, domain string)) {
	switch c.Kind {
	case KindAddress:
		fn(outAddress, c.in.local, c.in.domain)
		if !c.OutboundOnly {
			fn(inAddress, c.ex.local, c.ex.domain)
		}
	case KindDomain:
		fn(outDomain, "", c.in.domain)
		if !c.OutboundOnly {
			fn(inDomain, "", c.ex.domain)
		}
	case KindWildcard:
		fn(outWildcard, "", c.in.domain)
	}
}

// build groups the ops by bucket (a stable counting sort, so in each bucket removals come
// first and additions keep the order of files and lines: the first holder of a key wins and
// the later one is reported) and rebuilds each touched bucket.
func (b *batch) build() {
	start := make([]int32, numIDs+1)
	for _, o := range b.ops {
		start[o.id+1]++
	}
	for i := 1; i <= numIDs; i++ {
		start[i] += start[i-1]
	}
	sorted := make([]op, len(b.ops))
	next := start[:numIDs:numIDs]
	for _, o := range b.ops {
		sorted[next[o.id]] = o
		next[o.id]++
	}
	b.ops = nil
	dups := map[[2]*compiled]bool{}
	var collisions [][2]*compiled // rule, other holder; reported unless the pair are duplicates
	for lo := 0; lo < len(sorted); {
		hi := lo + 1
		for hi < len(sorted) && sorted[hi].id == sorted[lo].id {
			hi++
		}
		group := sorted[lo:hi]
		lo = hi
		k := lookupKind(group[0].id >> 16)
		var old []slot
		if !b.empty {
			if obj, _ := b.read.First(bucketTable, idIndex, &b.ids[group[0].id]); obj != nil {
				old = obj.(*bucket).slots
			}
		}
		slots := make([]slot, 0, len(old)+len(group))
	oldSlots:
		for _, sl := range old {
			for _, o := range group {
				if int(o.rule) < b.removed && b.rules[o.rule] == sl.c {
					b.counts[k]--
					continue oldSlots
				}
			}
			slots = append(slots, sl)
		}
	adds:
		for _, o := range group {
			if int(o.rule) < b.removed {
				continue
			}
			c := b.rules[o.rule]
			for _, sl := range slots {
				if sl.hash == o.hash && sameKey(k, sl.c, c) {
					if k < inAddress {
						dups[[2]*compiled{c, sl.c}] = true
						b.errs = append(b.errs, errAt(c.Pos.File, c.Pos.Line, ErrDuplicate, ": %q is also the internal side at %s", c.Internal, sl.c.Pos))
					} else {
						collisions = append(collisions, [2]*compiled{c, sl.c})
					}
					continue adds
				}
			}
			slots = append(slots, slot{hash: o.hash, c: c})
			b.counts[k]++
		}
		if len(slots) > 0 || old != nil {
			b.buckets = append(b.buckets, pending{n: group[0].id, b: &bucket{id: b.ids[group[0].id][:], slots: slots}, existed: old != nil})
		}
	}
	for _, c := range collisions {
		if !dups[c] {
			b.errs = append(b.errs, errAt(c[0].Pos.File, c[0].Pos.Line, ErrCollision, ": %q is also the external side of the bidirectional rule at %s", c[0].External, c[1].Pos))
		}
	}
}

// sameKey reports whether rules a and b have the same key of lookup kind k.
func sameKey(k lookupKind, a, b *compiled) bool {
	if k < inAddress {
		return a.in == b.in
	}
	return a.ex == b.ex
}

// write writes the rebuilt buckets in one memdb write transaction, in id order (sequential
// inserts into the radix tree copy fewer nodes), marks them in used and returns the
// transaction uncommitted: the caller commits it or aborts it.
func (b *batch) write(db *memdb.MemDB, used bucketSet) (*memdb.Txn, error) {
	txn := db.Txn(true)
	for _, p := range b.buckets {
		var err error
		if len(p.b.slots) > 0 {
			err = txn.Insert(bucketTable, p.b)
		} else if p.existed {
			err = txn.Delete(bucketTable, p.b)
		}
		if err != nil {
			txn.Abort()
			return nil, fmt.Errorf("updating the rule table: %w", err)
		}
	}
	for _, p := range b.buckets {
		used.set(p.n, len(p.b.slots) > 0)
	}
	return txn, nil
}
