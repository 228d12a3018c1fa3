package rewrite

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// icalEdit replaces text[start:end] of a calendar's decoded text with repl.
type icalEdit struct {
	start, end int
	repl       []byte
	change     CalendarChange
}

// icalFoldAt is the longest line RFC 5545 §3.1 wants, in octets without the line break.
const icalFoldAt = 75

// The properties whose cal-address value is rewritten (RFC 5545 §3.8.4.1, §3.8.4.3).
const (
	propOrganizer = "ORGANIZER"
	propAttendee  = "ATTENDEE"
)

// rewriteICal returns one edit for each ORGANIZER or ATTENDEE content line of text whose
// mailto: address rw rewrites, in text order. Each edit replaces the line from the address to
// the end of the line (line break excluded); what comes before keeps its bytes and folding.
// ascii: the replacement must be 7-bit.
func rewriteICal(text []byte, rw AddressFunc, ascii bool) []icalEdit {
	var edits []icalEdit
	for i := 0; i < len(text); {
		// A content line: a physical line and the following ones that start with a space or a
		// tab (RFC 5545 §3.1), each ending in CRLF (or LF, as some systems store it).
		start := i
		firstEnd, lineEnd := -1, 0
		for {
			nl := bytes.IndexByte(text[i:], '\n')
			if nl < 0 {
				i, lineEnd = len(text), len(text)
				break
			}
			lineEnd = i + nl
			if lineEnd > i && text[lineEnd-1] == '\r' {
				lineEnd--
			}
			if firstEnd < 0 {
				firstEnd = lineEnd
			}
			i += nl + 1
			if i >= len(text) || (text[i] != ' ' && text[i] != '\t') {
				break
			}
		}
		if firstEnd < 0 {
			firstEnd = lineEnd
		}
		if !mayBeCalendarProp(text[start:firstEnd]) {
			continue
		}
		if e, ok := rewriteCalAddress(text, start, lineEnd, rw, ascii); ok {
			edits = append(edits, e)
		}
	}
	return edits
}

// mayBeCalendarProp reports whether a content line whose first physical line is first can be
// an ORGANIZER or ATTENDEE property: its name, possibly folded within, then ';' or ':'. It
// spares unfolding all other lines.
func mayBeCalendarProp(first []byte) bool {
	if len(first) == 0 {
		return false
	}
	for _, p := range [...]string{propOrganizer, propAttendee} {
		if len(first) <= len(p) {
			if bytes.EqualFold(first, []byte(p[:len(first)])) {
				return true
			}
			continue
		}
		if bytes.EqualFold(first[:len(p)], []byte(p)) && (first[len(p)] == ';' || first[len(p)] == ':') {
			return true
		}
	}
	return false
}

// foldPiece is one physical line of a content line: it starts at raw in the text (after the
// folding white space) and at unf in the unfolded line.
type foldPiece struct{ raw, unf int }

// unfoldLine returns text[start:end] unfolded and where each physical line starts.
func unfoldLine(text []byte, start, end int) ([]byte, []foldPiece) {
	pieces := []foldPiece{{raw: start}}
	unf := make([]byte, 0, end-start)
	for i := start; i < end; {
		nl := bytes.IndexByte(text[i:end], '\n')
		if nl < 0 {
			unf = append(unf, text[i:end]...)
			break
		}
		seg := text[i : i+nl]
		if len(seg) > 0 && seg[len(seg)-1] == '\r' {
			seg = seg[:len(seg)-1]
		}
		unf = append(unf, seg...)
		i += nl + 2 // the line feed and the folding white space
		pieces = append(pieces, foldPiece{raw: i, unf: len(unf)})
	}
	return unf, pieces
}

// rawOffset maps offset u of the unfolded line to the text: a position at a fold lies after
// the folding white space. It also returns where that physical line starts (its folding white
// space included), for the column.
func rawOffset(pieces []foldPiece, u int) (raw, lineStart int) {
	p := pieces[0]
	lineStart = p.raw
	for _, q := range pieces[1:] {
		if q.unf > u {
			break
		}
		p, lineStart = q, q.raw-1
	}
	return p.raw + u - p.unf, lineStart
}

// rewriteCalAddress rewrites the content line text[start:end] if it is an ORGANIZER or
// ATTENDEE property (RFC 5545 §3.1: name *(";" param) ":" value, a param-value either
// paramtext or a quoted-string that may hold ':' and ';') with a mailto: value (RFC 6068,
// scheme in any case) that rw rewrites.
func rewriteCalAddress(text []byte, start, end int, rw AddressFunc, ascii bool) (icalEdit, bool) {
	unf, pieces := unfoldLine(text, start, end)
	name, val, ok := splitProperty(unf)
	if !ok {
		return icalEdit{}, false
	}
	const scheme = "mailto:"
	if len(unf)-val <= len(scheme) || !bytes.EqualFold(unf[val:val+len(scheme)], []byte(scheme)) {
		return icalEdit{}, false
	}
	as, ae := val+len(scheme), len(bytes.TrimRight(unf, " \t"))
	if ae <= as {
		return icalEdit{}, false
	}
	addr := string(unf[as:ae])
	n, rule, ok := rw(addr)
	if !ok || n == addr || !validCalAddress(n, ascii) {
		return icalEdit{}, false
	}
	after := make([]byte, 0, len(unf)-len(addr)+len(n))
	after = append(append(append(after, unf[:as]...), n...), unf[ae:]...)
	raw, lineStart := rawOffset(pieces, as)
	repl := appendFolded(nil, after[as:], raw-lineStart, eolOf(text[start:]))
	return icalEdit{start: raw, end: end, repl: repl, change: CalendarChange{
		Property: string(unf[:name]), Old: addr, New: n,
		Before: string(unf), After: string(after), Rule: rule,
	}}, true
}

// splitProperty returns the length of the property name of the unfolded content line l and
// where its value starts, if the name is ORGANIZER or ATTENDEE and the parameters are well
// formed.
func splitProperty(l []byte) (name, val int, ok bool) {
	name = bytes.IndexAny(l, ";:")
	if name < 0 {
		return 0, 0, false
	}
	known := false
	for _, p := range [...]string{propOrganizer, propAttendee} {
		known = known || bytes.EqualFold(l[:name], []byte(p))
	}
	if !known {
		return 0, 0, false
	}
	i := name
	for l[i] == ';' {
		eq := bytes.IndexByte(l[i:], '=')
		if eq < 0 || bytes.ContainsAny(l[i+1:i+eq], ";:\"") {
			return 0, 0, false
		}
		i += eq + 1
		for { // param-value *("," param-value)
			if i < len(l) && l[i] == '"' {
				q := bytes.IndexByte(l[i+1:], '"')
				if q < 0 {
					return 0, 0, false
				}
				i += q + 2
			} else {
				for i < len(l) && l[i] != ',' && l[i] != ';' && l[i] != ':' && l[i] != '"' {
					i++
				}
			}
			if i < len(l) && l[i] == ',' {
				i++
				continue
			}
			break
		}
		if i >= len(l) || (l[i] != ';' && l[i] != ':') {
			return 0, 0, false
		}
	}
	return name, i + 1, true
}

// validCalAddress reports whether a can stand after mailto: in a content line: an '@', no white
// space, control character or DQUOTE, and only 7-bit bytes if ascii.
func validCalAddress(a string, ascii bool) bool {
	if !strings.Contains(a, "@") {
		return false
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if c <= ' ' || c == 0x7f || c == '"' || (ascii && c >= 0x80) {
			return false
		}
	}
	return utf8.ValidString(a)
}

// appendFolded appends s, which continues a physical line already col octets long, folding
// (eol and a space, RFC 5545 §3.1) before a line would pass icalFoldAt octets. It folds
// between characters, never inside a UTF-8 sequence.
func appendFolded(out, s []byte, col int, eol []byte) []byte {
	for len(s) > 0 {
		_, size := utf8.DecodeRune(s)
		if col+size > icalFoldAt && col > 1 {
			out = append(out, eol...)
			out = append(out, ' ')
			col = 1
		}
		out = append(out, s[:size]...)
		col += size
		s = s[size:]
	}
	return out
}
