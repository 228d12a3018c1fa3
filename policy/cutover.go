package policy

import (
	"fmt"
	"strings"
	"time"

	"github.com/edgerewrite/edgerewrite/rewrite"
)

// maxCutoverText keeps "451 4.7.1 " + text within an SMTP reply line (RFC 5321 §4.5.3.1.5).
const maxCutoverText = 400

// cutover is a compiled [[cutover]].
type cutover struct {
	match      string // canonical: address key, domain or "*.domain"
	hold       bool
	text       string
	start, end time.Time
}

// active reports whether now is in the window: start <= now < end, a zero bound being open.
func (c *cutover) active(now time.Time) bool {
	return (c.start.IsZero() || !now.Before(c.start)) && (c.end.IsZero() || now.Before(c.end))
}

// overlaps reports whether the windows of c and d share an instant.
func (c *cutover) overlaps(d *cutover) bool {
	startsBeforeEnd := func(a, b *cutover) bool { return a.start.IsZero() || b.end.IsZero() || a.start.Before(b.end) }
	return startsBeforeEnd(c, d) && startsBeforeEnd(d, c)
}

// cutoverIndex finds the cutover of a recipient.
type cutoverIndex struct {
	byAddr   map[string][]*cutover
	byDomain domainMap[[]*cutover]
	delims   string
}

// compileCutovers validates the [[cutover]] tables and fills p.cutovers.
func (p *Policy) compileCutovers(cs []Cutover, ps *problems) {
	p.cutovers = cutoverIndex{byAddr: map[string][]*cutover{}, byDomain: newDomainMap[[]*cutover](), delims: p.delims}
	seen := map[string][]int{} // canonical match -> indexes of earlier cutovers
	var all []*cutover
	for i, c := range cs {
		r := ps.entry("cutover", i, c.Match)
		before := len(ps.errs)
		nc := &cutover{text: c.Text, start: c.Start, end: c.End}
		var addr, dom string
		var wild bool
		switch {
		case strings.TrimSpace(c.Match) == "":
			r.add("match", ErrMissing, "match is not set: a domain (\"fabrikam.com\") or an address")
		case strings.Contains(c.Match, "@"):
			key, err := parseConfigAddr(c.Match)
			if err != nil {
				r.add("match", ErrBadValue, "match %q is neither a domain nor an address: %w", c.Match, err)
			}
			addr, nc.match = key, key
		default:
			d, w, err := parseDomainPattern(c.Match)
			if err != nil {
				r.add("match", ErrBadValue, "match %q is neither a domain nor an address: %w", c.Match, err)
			}
			dom, wild, nc.match = d, w, patternString(d, w)
		}
		switch c.Action {
		case "defer":
		case "hold":
			nc.hold = true
		case "":
			r.add("action", ErrMissing, "action is not set: \"defer\" (451 at RCPT) or \"hold\" (hold queue)")
		default:
			r.add("action", ErrBadValue, "action %q is not \"defer\" or \"hold\"", c.Action)
		}
		if err := checkReplyText(c.Text); err != nil {
			r.add("text", ErrBadValue, "text: %w", err)
		}
		checkWindow(r, c.Start, c.End)
		if len(ps.errs) != before {
			continue
		}
		for _, j := range seen[nc.match] {
			if all[j].overlaps(nc) {
				r.add("", ErrDuplicate, "its window overlaps that of cutover #%d for the same match %q", j+1, nc.match)
			}
		}
		for len(all) < i {
			all = append(all, nil)
		}
		all = append(all, nc)
		seen[nc.match] = append(seen[nc.match], i)
		if addr != "" {
			p.cutovers.byAddr[addr] = append(p.cutovers.byAddr[addr], nc)
		} else {
			list, _ := p.cutovers.byDomain.get(dom, wild)
			p.cutovers.byDomain.put(dom, wild, append(list, nc))
		}
	}
}

// checkWindow reports bounds that are a time of day without a date, and windows that end
// before (or when) they start.
func checkWindow(r reporter, start, end time.Time) {
	for _, b := range []struct {
		key string
		t   time.Time
	}{{"start", start}, {"end", end}} {
		if !b.t.IsZero() && b.t.Year() == 0 {
			r.add(b.key, ErrBadValue, "%s is a time of day without a date; write a date-time (2026-11-23T20:00:00Z)", b.key)
			return
		}
	}
	if !start.IsZero() && !end.IsZero() && !end.After(start) {
		r.add("end", ErrWindow, "the window ends (%s) before it starts (%s)",
			end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
}

// checkReplyText checks an admin-written reply text: printable ASCII on one line, short enough.
func checkReplyText(s string) error {
	if len(s) > maxCutoverText {
		return fmt.Errorf("longer than %d characters", maxCutoverText)
	}
	for i, r := range s {
		if r < ' ' || r > '~' {
			return fmt.Errorf("character %q at byte %d: SMTP reply texts are printable ASCII on one line", r, i+1)
		}
	}
	return nil
}

// find returns the cutover in force for rcpt at now, nil for none: an address match (the whole
// address, then without its extension) before an exact domain match before a domain pattern.
func (ix cutoverIndex) find(rcpt string, now time.Time) *cutover {
	a := envAddr(rcpt)
	var found *cutover
	pick := func(list []*cutover) bool {
		for _, c := range list {
			if c.active(now) {
				found = c
				return true
			}
		}
		return false
	}
	if len(ix.byAddr) > 0 {
		for _, k := range rewrite.AddressKeys(a, ix.delims) {
			if pick(ix.byAddr[k]) {
				return found
			}
		}
	}
	if d := domainOf(a); d.norm != "" && ix.byDomain.len() > 0 && ix.byDomain.each(d.norm, pick) {
		return found
	}
	return nil
}

// deferText is the 451 reply text of a deferring cutover.
func (c *cutover) deferText() string {
	if c.text != "" {
		return c.text
	}
	return "mailbox is being moved, please try again later"
}

// holdReason is the quarantine reason of a holding cutover.
func (c *cutover) holdReason() string {
	if c.text != "" {
		return "cutover " + c.match + ": " + c.text
	}
	return "cutover " + c.match + ": held while the mailbox moves"
}
