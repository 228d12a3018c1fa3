package rewrite

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strings"
)

// The fingerprint of a rule set tells whether two gateways serve the same rules: equal sets
// give equal fingerprints on every machine and in every process, whatever the file names, the
// order of files and lines, comments and CSV Names, since none of those changes what a message
// becomes. It covers what does: each rule's kind, both sides as written (the case of a side
// is what a rewrite writes; a trailing dot is not), outbound-only, and the exceptions in lookup
// form. The internal side of an outbound-only rule is only matched, never written, so it counts
// in lookup form.
//
// It is the SHA-256 of the sum, lane by lane modulo 2^64, of the SHA-256 of every rule's
// canonical form (an additive multiset hash), and of the number of rules. A sum does not
// depend on order, so no sort of a million rules is needed, and a load adds the digests of the
// rules it adds and subtracts those of the rules it removes: an edit costs what it touches.

// fingerprintLen is how many bytes of the final hash the fingerprint shows: 16 hex digits
// tell sets apart far beyond the size of any fleet.
const fingerprintLen = 8

// fingerprintSum is the running sum of rule digests, and the number of rules in it.
type fingerprintSum struct {
	lanes [4]uint64
	n     int64
}

// apply removes the digests of removed and adds those of added.
func (f *fingerprintSum) apply(removed, added []*compiled) {
	for _, c := range removed {
		d := c.digest()
		for i := range f.lanes {
			f.lanes[i] -= binary.LittleEndian.Uint64(d[8*i:])
		}
		f.n--
	}
	for _, c := range added {
		d := c.digest()
		for i := range f.lanes {
			f.lanes[i] += binary.LittleEndian.Uint64(d[8*i:])
		}
		f.n++
	}
}

// String returns the fingerprint in hex.
func (f *fingerprintSum) String() string {
	var b [40]byte
	for i, l := range f.lanes {
		binary.LittleEndian.PutUint64(b[8*i:], l)
	}
	binary.LittleEndian.PutUint64(b[32:], uint64(f.n))
	h := sha256.Sum256(b[:])
	return hex.EncodeToString(h[:fingerprintLen])
}

// digest is the SHA-256 of the rule's canonical form: fields separated by NUL, which no side
// can hold.
func (c *compiled) digest() [32]byte {
	exc := c.exc
	if !slices.IsSorted(exc) {
		exc = slices.Sorted(slices.Values(exc))
	}
	var buf [256]byte
	b := append(buf[:0], byte(c.Kind), 0)
	b = append(b, c.canonicalInternal()...)
	b = append(b, 0)
	b = append(b, strings.TrimSuffix(c.External, ".")...)
	b = append(b, 0)
	if c.OutboundOnly {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	for _, e := range exc {
		b = append(b, 0)
		b = append(b, e...)
	}
	return sha256.Sum256(b)
}

// Fingerprint identifies the rules of the snapshot: 16 hex digits, equal on two gateways that
// serve the same rules (whatever their files, order, comments and CSV Names), different after
// any change to what a message would become.
func (s *Snapshot) Fingerprint() string { return s.stats.Fingerprint }

// canonicalInternal is the internal side as the fingerprint sees it: as written for a
// bidirectional rule (inbound writes it), in lookup form for an outbound-only one.
func (c *compiled) canonicalInternal() string {
	if !c.OutboundOnly {
		return strings.TrimSuffix(c.Internal, ".")
	}
	switch c.Kind {
	case KindAddress:
		return c.in.local + "@" + c.in.domain
	case KindWildcard:
		return "*." + c.in.domain
	}
	return c.in.domain
}
