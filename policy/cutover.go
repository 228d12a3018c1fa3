package policy

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/edgerewrite/edgerewrite/rewrite"
)

// maxCutoverText keeps "451 4.7.1 " + text within an SMTP reply line (RFC 5321 §4.5.3.1.5).
const maxCutoverText = 400

// cutover is a compiled [[cutover]].
type cutover struct {
	match      string // canonical: address key, domain or "*.domain"
	addr, dom  string // the index key: addr for an address match, else dom (with wild)
	wild       bool
	hold       bool
	text       string
	start, end time.Time
	// file and line say where the entry is written: a cutover list file of the rules directory
	// and its line, or, with file "", the [[cutover]] table numbered line (from 1).
	file string
	line int
}

// origin names where c is written, for the admin: "wave-07.cutover:12" or "cutover #3".
func (c *cutover) origin() string {
	if c.file == "" {
		return "cutover #" + strconv.Itoa(c.line)
	}
	return c.file + ":" + strconv.Itoa(c.line)
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
	for i, c := range cs {
		r := ps.entry("cutover", i, c.Match)
		nc, ok := compileCutover(c, r)
		if !ok {
			continue
		}
		nc.line = i + 1
		if clash := p.cutovers.add(nc); clash != nil {
			r.add("", ErrDuplicate, "its window overlaps that of %s for the same match %q", clash.origin(), nc.match)
		}
	}
}

// compileCutover validates one cutover entry, of a [[cutover]] table or a line of a cutover
// list file, reporting every problem to r; ok is false when there was one.
func compileCutover(c Cutover, r reporter) (nc *cutover, ok bool) {
	before := len(r.ps.errs)
	nc = &cutover{text: c.Text, start: c.Start, end: c.End}
	switch {
	case strings.TrimSpace(c.Match) == "":
		r.add("match", ErrMissing, "match is not set: a domain (\"fabrikam.com\") or an address")
	case strings.Contains(c.Match, "@"):
		key, err := parseConfigAddr(c.Match)
		if err != nil {
			r.add("match", ErrBadValue, "match %q is neither a domain nor an address: %w", c.Match, err)
		}
		nc.addr, nc.match = key, key
	default:
		d, w, err := parseDomainPattern(c.Match)
		if err != nil {
			r.add("match", ErrBadValue, "match %q is neither a domain nor an address: %w", c.Match, err)
		}
		nc.dom, nc.wild, nc.match = d, w, patternString(d, w)
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
	return nc, len(r.ps.errs) == before
}

// add puts the compiled cutover c in the index. When an entry for the same match has a window
// overlapping c's, c is not added and that entry is returned: one instant, one cutover.
func (ix cutoverIndex) add(c *cutover) (clash *cutover) {
	var list []*cutover
	if c.addr != "" {
		list = ix.byAddr[c.addr]
	} else {
		list, _ = ix.byDomain.get(c.dom, c.wild)
	}
	for _, d := range list {
		if d.overlaps(c) {
			return d
		}
	}
	// A full slice expression: generations built from one policy share its lists, and an
	// append must never write into another's backing array.
	list = append(list[:len(list):len(list)], c)
	if c.addr != "" {
		ix.byAddr[c.addr] = list
	} else {
		ix.byDomain.put(c.dom, c.wild, list)
	}
	return nil
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

// holdReason is the quarantine reason of a holding cutover. A wave entry's names its file and
// line first, so that the held mail of one wave can be told from the rest.
func (c *cutover) holdReason() string {
	r := "cutover " + c.match + ": held while the mailbox moves"
	if c.text != "" {
		r = "cutover " + c.match + ": " + c.text
	}
	if c.file != "" {
		r = "wave " + c.origin() + " " + r
	}
	return r
}

// verdictSource is Verdict.Source for a verdict c decided: the wave entry, "" for [[cutover]].
func (c *cutover) verdictSource() string {
	if c.file == "" {
		return ""
	}
	return c.origin()
}
