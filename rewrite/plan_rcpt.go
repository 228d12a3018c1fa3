package rewrite

import "strings"

// The envelope half of Compute: the sender (SMFIR_CHGFROM) and the recipients
// (SMFIR_DELRCPT / SMFIR_ADDRCPT), with duplicates marked.

// senderChange rewrites the envelope sender outbound; the null sender never changes.
func (p *Plan) senderChange(l Lookup, o *PlanOptions, from string) *Change {
	a := unbracket(from)
	if a == "" {
		return nil
	}
	n, r, ok := l.Rewrite(a, Outbound)
	if !ok || n == a {
		return nil
	}
	f, fits := o.fit(n)
	if !fits {
		p.NeedUTF8 = append(p.NeedUTF8, Change{Field: "mail-from", Old: from, New: n, Rule: r})
		return nil
	}
	if f == a {
		return nil
	}
	return &Change{Field: "mail-from", Old: from, New: f, Rule: r}
}

// rcptChanges rewrites the envelope recipients inbound, asking o.RcptFallback for those no rule
// resolved, and marks duplicates.
func (p *Plan) rcptChanges(l Lookup, o *PlanOptions, rcpts []string) []RcptChange {
	var cs []RcptChange
	for i, rcpt := range rcpts {
		a := unbracket(rcpt)
		if a == "" {
			continue
		}
		n, r, ok := l.Rewrite(a, Inbound)
		if !ok && o.RcptFallback != nil {
			n, ok = o.RcptFallback(a)
			r = nil
		}
		if !ok || n == a {
			continue
		}
		f, fits := o.fit(n)
		if !fits {
			p.NeedUTF8 = append(p.NeedUTF8, Change{Field: "rcpt", Old: rcpt, New: n, Rule: r})
			continue
		}
		if f == a {
			continue
		}
		cs = append(cs, RcptChange{Index: i, Old: rcpt, New: f, Rule: r})
	}
	markDuplicates(rcpts, cs)
	return cs
}

// unbracket strips the angle brackets of "<addr>"; "<>" gives the null address "".
func unbracket(a string) string {
	if len(a) >= 2 && a[0] == '<' && a[len(a)-1] == '>' {
		return a[1 : len(a)-1]
	}
	return a
}

// markDuplicates sets Duplicate on each change whose new address an earlier change or an
// unchanged recipient already has. cs is in recipient order.
func markDuplicates(rcpts []string, cs []RcptChange) {
	if len(cs) == 0 {
		return
	}
	if len(rcpts) > 64 {
		markDuplicatesMap(rcpts, cs)
		return
	}
	for i := range cs {
		c := &cs[i]
		for j := 0; j < i && !c.Duplicate; j++ {
			c.Duplicate = strings.EqualFold(cs[j].New, c.New)
		}
		k := 0 // walks cs alongside rcpts to skip the changed ones
		for ri := 0; ri < len(rcpts) && !c.Duplicate; ri++ {
			if k < len(cs) && cs[k].Index == ri {
				k++
				continue
			}
			c.Duplicate = strings.EqualFold(unbracket(rcpts[ri]), c.New)
		}
	}
}

// markDuplicatesMap is markDuplicates for long recipient lists, keyed by the lower-cased address.
func markDuplicatesMap(rcpts []string, cs []RcptChange) {
	have := make(map[string]struct{}, len(rcpts))
	k := 0
	for ri, r := range rcpts {
		if k < len(cs) && cs[k].Index == ri {
			k++
			continue
		}
		have[strings.ToLower(unbracket(r))] = struct{}{}
	}
	for i := range cs {
		key := strings.ToLower(cs[i].New)
		if _, ok := have[key]; ok {
			cs[i].Duplicate = true
			continue
		}
		have[key] = struct{}{}
	}
}
