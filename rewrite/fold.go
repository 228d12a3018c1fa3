package rewrite

import "strings"

// MaxLineOctets is the longest a line of a message may be, CRLF excluded (RFC 5322 §2.1.1).
// Postfix's SMTP client breaks a longer line at that octet wherever it falls
// (smtp_line_length_limit), which can cut an address in two and breaks any signature made
// after edgerewrite.
const MaxLineOctets = 998

// foldLongLines returns the rewritten address-list value of field name, given its value before
// the rewrite (old), with every line the rewrite made longer than MaxLineOctets folded at
// address boundaries: after a separating comma, as a line break followed by white space (RFC
// 5322 §2.2.3, §3.2.2). A line identical to a line of old is kept as it was, long or not, and
// so is all existing folding: only what the rewrite wrote is refolded. The first line counts
// the field name and its colon.
//
// The line break is the value's own (CRLF when it already has one, else a bare LF, which is
// what the milter protocol expects in a header value: the MTA writes the CR). Where the comma
// is followed by white space the break goes before it, so unfolding gives back the exact
// value; otherwise one space is added after the break. An address list that does not parse, or
// a single address longer than a line, cannot be folded at an address boundary and is left as
// it is.
func foldLongLines(name, old, value string) string {
	if !hasLongLine(len(name)+1, value) {
		return value
	}
	var seps []int
	sc := listScanner{s: value, seps: &seps}
	if sc.scan() != nil {
		return value
	}
	nl := "\n"
	if strings.Contains(value, "\r\n") {
		nl = "\r\n"
	}
	oldLines := map[string]struct{}{}
	for _, l := range splitLines(old) {
		oldLines[l] = struct{}{}
	}
	var b strings.Builder
	b.Grow(len(value) + len(value)/MaxLineOctets*3 + 8)
	prefix := len(name) + 1
	start := 0
	for _, line := range splitLines(value) {
		end := start + len(line)
		_, kept := oldLines[line]
		if prefix+len(line) <= MaxLineOctets || kept {
			b.WriteString(line)
		} else {
			foldLine(&b, value, start, end, prefix, cutsIn(value, seps, start, end), nl)
		}
		// Copy the line break as it was: splitLines left out "\r\n" or "\n".
		next := end
		if next < len(value) && value[next] == '\r' {
			next++
		}
		if next < len(value) && value[next] == '\n' {
			next++
		}
		b.WriteString(value[end:next])
		start, prefix = next, 0
	}
	return b.String()
}

// foldLine writes value[start:end], one line whose output starts at column prefix, folding it
// greedily at the cuts so that each piece fits in MaxLineOctets where a cut allows.
func foldLine(b *strings.Builder, value string, start, end, prefix int, cuts []int, nl string) {
	pos, cur, prev := start, prefix, -1
	for _, c := range append(cuts, end) {
		if cur+(c-pos) > MaxLineOctets && prev > pos {
			b.WriteString(value[pos:prev])
			b.WriteString(nl)
			cur = 0
			if value[prev] != ' ' && value[prev] != '\t' {
				b.WriteByte(' ')
				cur = 1
			}
			pos = prev
		}
		prev = c
	}
	b.WriteString(value[pos:end])
}

// cutsIn returns the address boundaries inside value[start:end] where a fold may go: not at
// either end, and not where only white space would follow on the new line (RFC 5322 §3.2.2
// does not let a folded line be white space only).
func cutsIn(value string, seps []int, start, end int) []int {
	var in []int
	for _, c := range seps {
		if c > start && c < end {
			in = append(in, c)
		}
	}
	cuts := in[:0]
	for i, c := range in {
		next := end
		if i+1 < len(in) {
			next = in[i+1]
		}
		if strings.Trim(value[c:next], " \t") != "" {
			cuts = append(cuts, c)
		}
	}
	return cuts
}

// hasLongLine reports whether a line of value is longer than MaxLineOctets, the first line
// counted from column first.
func hasLongLine(first int, value string) bool {
	for _, l := range splitLines(value) {
		if first+len(l) > MaxLineOctets {
			return true
		}
		first = 0
	}
	return false
}

// splitLines splits a field value at its line breaks (CRLF or LF), which are left out.
func splitLines(v string) []string {
	lines := strings.Split(v, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}
