package rewrite

import (
	"slices"
	"strings"
)

// matches reports whether c's key of kind k is (local, domain).
func (c *compiled) matches(k lookupKind, local, domain string) bool {
	switch k {
	case outAddress, outDomain, outWildcard:
		return c.in.domain == domain && c.in.local == local
	default:
		return c.ex.domain == domain && c.ex.local == local
	}
}

// find returns the rule whose key of kind k is (local, domain), or nil.
func (s *Snapshot) find(k lookupKind, local, domain string) *compiled {
	if s.counts[k] == 0 {
		return nil
	}
	h := keyHash(s.seed, k, local, domain)
	n := bucketOf(k, h)
	if !s.used.has(n) {
		return nil
	}
	obj, err := s.txn.First(bucketTable, idIndex, &s.ids[n])
	if err != nil || obj == nil {
		return nil
	}
	for _, sl := range obj.(*bucket).slots {
		if sl.hash == h && sl.c.matches(k, local, domain) {
			return sl.c
		}
	}
	return nil
}

// excepted reports whether domain nd (lookup form) is one of wildcard c's exceptions or under one.
func (c *compiled) excepted(nd string) bool {
	for _, e := range c.exc {
		if nd == e || isSubdomain(nd, e) {
			return true
		}
	}
	return false
}

// isSubdomain reports whether d is a proper subdomain of parent (both in lookup form).
func isSubdomain(d, parent string) bool {
	return len(d) > len(parent) && d[len(d)-len(parent)-1] == '.' && strings.HasSuffix(d, parent)
}

// Rewrite rewrites one address (no angle brackets) in direction d. ok=false: no rule matched
// and out == addr. The null address "" never matches.
//
// Outbound, by the internal side: an address rule (first for the whole local part, then for
// the part before the recipient delimiter, keeping the extension), then a domain rule, then
// the most specific wildcard whose exceptions do not cover the domain. Inbound, by the external
// side of bidirectional rules: address rules as above, then domain rules. Matching is
// case-insensitive and IDNA-aware (lookupForm); what is kept (the local part, the extension)
// keeps its bytes, and the rule's side is written as the rule wrote it, less a trailing dot
// of its domain (not allowed in an SMTP address, RFC 5321 §4.1.2). A U-label stays a U-label
// here: whether the transaction may carry it is Compute's to decide (PlanOptions.SMTPUTF8).
func (s *Snapshot) Rewrite(addr string, d Direction) (out string, rule *Rule, ok bool) {
	nl, nd, err := lookupForm(addr)
	if err != nil {
		return addr, nil, false // no domain, or not a domain name: [192.0.2.1], "", postmaster
	}
	local, _, _ := SplitAddress(addr)
	byAddress, byDomain := outAddress, outDomain
	if d == Inbound {
		byAddress, byDomain = inAddress, inDomain
	} else if d != Outbound {
		return addr, nil, false
	}
	if s.counts[byAddress] > 0 {
		c := s.find(byAddress, nl, nd)
		ext := ""
		if c == nil {
			var base string
			if base, ext = SplitExtension(local, s.opts.RecipientDelimiter); base != "" {
				c = s.find(byAddress, NormalizeLocal(base), nd)
			}
		}
		if c != nil {
			target := strings.TrimSuffix(c.External, ".")
			if d == Inbound {
				target = strings.TrimSuffix(c.Internal, ".")
			}
			if ext == "" {
				return target, &c.Rule, true
			}
			tl, td, _ := SplitAddress(target)
			return withExtension(tl, td, ext), &c.Rule, true
		}
	}
	if c := s.find(byDomain, "", nd); c != nil {
		if d == Inbound {
			return local + "@" + strings.TrimSuffix(c.Internal, "."), &c.Rule, true
		}
		return local + "@" + strings.TrimSuffix(c.External, "."), &c.Rule, true
	}
	if d == Outbound && s.counts[outWildcard] > 0 {
		for sfx := nd; ; {
			if c := s.find(outWildcard, "", sfx); c != nil && !c.excepted(nd) {
				return local + "@" + strings.TrimSuffix(c.External, "."), &c.Rule, true
			}
			i := strings.IndexByte(sfx, '.')
			if i < 0 {
				break
			}
			sfx = sfx[i+1:]
		}
	}
	return addr, nil, false
}

// findMany is find for many keys of kind k: the rule of each key, or nil. It sorts the keys by
// bucket and reads each bucket once, which for a million keys is much cheaper than a million
// walks of memdb's tree.
func (s *Snapshot) findMany(k lookupKind, keys []normAddr) []*compiled {
	found := make([]*compiled, len(keys))
	if s.counts[k] == 0 || len(keys) == 0 {
		return found
	}
	hashes := make([]uint64, len(keys))
	start := make([]int32, numBuckets+1)
	for i, key := range keys {
		hashes[i] = keyHash(s.seed, k, key.local, key.domain)
		start[hashes[i]%numBuckets+1]++
	}
	for i := 1; i <= numBuckets; i++ {
		start[i] += start[i-1]
	}
	order := make([]int32, len(keys))
	next := slices.Clone(start[:numBuckets])
	for i, h := range hashes {
		order[next[h%numBuckets]] = int32(i)
		next[h%numBuckets]++
	}
	for lo := 0; lo < len(order); {
		h0 := hashes[order[lo]]
		hi := int(start[h0%numBuckets+1])
		n := bucketOf(k, h0)
		if s.used.has(n) {
			if obj, err := s.txn.First(bucketTable, idIndex, &s.ids[n]); err == nil && obj != nil {
				slots := obj.(*bucket).slots
				for _, i := range order[lo:hi] {
					for _, sl := range slots {
						if sl.hash == hashes[i] && sl.c.matches(k, keys[i].local, keys[i].domain) {
							found[i] = sl.c
							break
						}
					}
				}
			}
		}
		lo = hi
	}
	return found
}
