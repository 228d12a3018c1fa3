package rewrite

import "fmt"

// This file is the RFC 5322 §3.4 address-list / mailbox-list listScanner behind RewriteAddressList.
// It does not build addresses: it walks the field value once and records where each addr-spec
// is (a byte span) and the form to look it up by. Everything outside those spans (display names,
// comments, encoded words, groups, folding) is never copied or changed.
//
// Style (mox's smtp/address.go): a parser struct{s; o}, helpers prefixed with x panic with a
// *scanError, and scan recovers and turns that into an error.

// addrSpan is one addr-spec found in a field value.
type addrSpan struct {
	start, end int    // value[start:end] is the addr-spec as written
	addr       string // the address to look up: without CFWS, quoted dot-atom local parts unquoted
}

// scanError is what the x-helpers panic with: what is wrong and at which byte offset.
type scanError struct {
	off int
	msg string
}

// listScanner holds the value, the offset, and the addr-specs found so far: the first few inline,
// so that scanning an ordinary field value does not allocate.
type listScanner struct {
	s    string
	o    int
	n    int
	few  [8]addrSpan
	more []addrSpan
	// seps, when not nil, collects the offset just after each comma that separates addresses
	// (in the list or in a group): the address boundaries a long line may be folded at.
	seps *[]int
}

// sep records an address boundary at the current offset (just after a separating comma).
func (p *listScanner) sep() {
	if p.seps != nil {
		*p.seps = append(*p.seps, p.o)
	}
}

// scan scans p.s as an RFC 5322 address-list, recording its addr-specs. Groups are accepted
// wherever an address is (RFC 6854 allows them in From too).
func (p *listScanner) scan() (err error) {
	defer func() {
		if x := recover(); x != nil {
			e, ok := x.(*scanError)
			if !ok {
				panic(x)
			}
			p.n, p.more = 0, nil
			err = fmt.Errorf("%w: %s at byte %d of %q", ErrUnparsable, e.msg, e.off, clipForError(p.s))
		}
	}()
	p.xlist()
	return nil
}

func (p *listScanner) add(sp addrSpan) {
	if p.n < len(p.few) {
		p.few[p.n] = sp
	} else {
		p.more = append(p.more, sp)
	}
	p.n++
}

// span returns the i-th addr-spec found, 0 <= i < p.n.
func (p *listScanner) span(i int) addrSpan {
	if i < len(p.few) {
		return p.few[i]
	}
	return p.more[i-len(p.few)]
}

// clipForError shortens a value quoted in an error message.
func clipForError(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

func (p *listScanner) xerrorf(off int, format string, args ...any) {
	panic(&scanError{off: off, msg: fmt.Sprintf(format, args...)})
}

func (p *listScanner) end() bool { return p.o >= len(p.s) }

// found names the byte at the current offset for an error message.
func (p *listScanner) found() string {
	if p.end() {
		return "end of value"
	}
	return fmt.Sprintf("%q", p.s[p.o:p.o+1])
}

// xlist: address-list = (address *("," address)) / obs-addr-list (RFC 5322 §3.4, §4.4): empty
// elements between commas are accepted, as are an empty list and a list of CFWS only.
func (p *listScanner) xlist() {
	for {
		p.xcfws()
		if p.end() {
			return
		}
		if p.s[p.o] == ',' {
			p.o++
			p.sep()
			continue
		}
		p.xaddress(false)
		p.xcfws()
		if p.end() {
			return
		}
		if p.s[p.o] != ',' {
			p.xerrorf(p.o, "expected ',' between addresses, found %s", p.found())
		}
		p.o++
		p.sep()
	}
}

// xaddress: address = mailbox / group; mailbox = name-addr / addr-spec (RFC 5322 §3.4).
// What the leading words are (display name, group name or local part) is decided by what
// follows them: '<', ':' or '@'.
func (p *listScanner) xaddress(inGroup bool) {
	p.xcfws()
	if !p.end() && p.s[p.o] == '<' {
		p.xangleAddr()
		return
	}
	w := p.xwords()
	if p.end() {
		p.xerrorf(w.start, "%q is not an address (no '@' and no <...>)", p.s[w.start:w.end])
	}
	switch p.s[p.o] {
	case '<':
		p.xangleAddr()
	case '@':
		p.xaddrSpecRest(w)
	case ':':
		if inGroup {
			p.xerrorf(p.o, "group inside a group")
		}
		if w.words == 0 {
			p.xerrorf(p.o, "group without a name")
		}
		p.o++
		p.xgroup()
	default:
		if w.start < 0 {
			p.xerrorf(p.o, "unexpected %s", p.found())
		}
		p.xerrorf(w.start, "%q is not an address (no '@' and no <...>)", p.s[w.start:w.end])
	}
}

// xgroup: group = display-name ":" [group-list] ";" [CFWS], after the ':'. A group left open at
// the end of the value ("undisclosed-recipients:") is accepted.
func (p *listScanner) xgroup() {
	for {
		p.xcfws()
		if p.end() {
			return
		}
		switch p.s[p.o] {
		case ';':
			p.o++
			return
		case ',':
			p.o++
			p.sep()
			continue
		}
		p.xaddress(true)
		p.xcfws()
		if p.end() {
			return
		}
		switch p.s[p.o] {
		case ';':
			p.o++
			return
		case ',':
			p.o++
			p.sep()
		default:
			p.xerrorf(p.o, "expected ',' or ';' in group, found %s", p.found())
		}
	}
}

// xangleAddr: angle-addr = [CFWS] "<" addr-spec ">" [CFWS] / obs-angle-addr (with obs-route),
// at the '<'. The null address "<>" is accepted and never rewritten.
func (p *listScanner) xangleAddr() {
	open := p.o
	p.o++
	p.xcfws()
	if p.end() {
		p.xerrorf(open, "unclosed '<'")
	}
	if p.s[p.o] == '>' {
		p.o++
		return
	}
	if p.s[p.o] == '@' {
		p.xobsRoute(open)
	}
	w := p.xwords()
	if p.end() {
		p.xerrorf(open, "unclosed '<'")
	}
	if p.s[p.o] != '@' {
		p.xerrorf(p.o, "expected '@' in <...>, found %s", p.found())
	}
	p.xaddrSpecRest(w)
	p.xcfws()
	if p.end() {
		p.xerrorf(open, "unclosed '<'")
	}
	if p.s[p.o] != '>' {
		p.xerrorf(p.o, "expected '>' after the address, found %s", p.found())
	}
	p.o++
}

// xobsRoute: obs-route = obs-domain-list ":" (RFC 5322 §4.4), as in <@a.example,@b.example:x@y>.
// It is kept as written; only the addr-spec after it is rewritten.
func (p *listScanner) xobsRoute(open int) {
	for {
		p.xcfws()
		if p.end() {
			p.xerrorf(open, "unclosed '<'")
		}
		switch p.s[p.o] {
		case ',':
			p.o++
		case '@':
			p.o++
			p.xcfws()
			p.xdomain()
		case ':':
			p.o++
			return
		default:
			p.xerrorf(p.o, "expected ',', '@' or ':' in source route, found %s", p.found())
		}
	}
}

// xaddrSpecRest: addr-spec = local-part "@" domain (RFC 5322 §3.4.1), at the '@' after the
// words of the local part. obs-local-part (words joined by '.', CFWS around them) is accepted,
// and so are stray dots ("john.@example", as some Japanese carriers issue).
func (p *listScanner) xaddrSpecRest(w wordRun) {
	if w.words == 0 {
		p.xerrorf(p.o, "missing local part before '@'")
	}
	if w.adjacent {
		p.xerrorf(w.start, "%q is not a local part (words not joined by '.'; quote a display name)", p.s[w.start:w.end])
	}
	inner := w.inner || p.o > w.end
	p.o++ // '@'
	if p.xcfws() {
		inner = true
	}
	dstart, dend, dinner := p.xdomain()
	span := addrSpan{start: w.start, end: dend}
	switch {
	case !inner && !dinner && !w.quoted:
		span.addr = p.s[w.start:dend]
	default:
		span.addr = lookupLocal(p.s[w.start:w.end]) + "@" + stripCFWS(p.s[dstart:dend])
	}
	p.add(span)
}

// xdomain: domain = dot-atom / domain-literal / obs-domain (RFC 5322 §3.4.1). It returns the
// span from the first to the last atom (or the literal) and whether CFWS occurs inside it;
// CFWS after the domain is left for the caller.
func (p *listScanner) xdomain() (start, end int, inner bool) {
	start = p.o
	if p.end() {
		p.xerrorf(p.o, "missing domain after '@'")
	}
	if p.s[p.o] == '[' {
		p.xdomainLiteral()
		return start, p.o, false
	}
	for {
		if p.end() || !isAtext6532(p.s[p.o]) {
			p.xerrorf(p.o, "expected a domain, found %s", p.found())
		}
		for !p.end() && isAtext6532(p.s[p.o]) {
			p.o++
		}
		end = p.o
		cf := p.xcfws()
		if p.end() || p.s[p.o] != '.' {
			p.o = end
			return start, end, inner
		}
		p.o++
		if p.xcfws() || cf {
			inner = true
		}
	}
}

// xdomainLiteral: domain-literal = "[" *([FWS] dtext) [FWS] "]", at the '['.
func (p *listScanner) xdomainLiteral() {
	open := p.o
	p.o++
	for !p.end() {
		switch p.s[p.o] {
		case ']':
			p.o++
			return
		case '[':
			p.xerrorf(p.o, "'[' inside a domain literal")
		case '\\':
			p.xquotedPair()
		case '\r', '\n':
			p.xlineBreak()
		default:
			p.o++
		}
	}
	p.xerrorf(open, "unclosed '['")
}

// wordRun summarises a run of words (atoms and quoted strings) and dots: a display name, a group
// name or a local part, depending on what follows.
type wordRun struct {
	start, end int  // from the first token to the end of the last; start -1 if none
	words      int  // number of atoms and quoted strings
	inner      bool // CFWS between the first and the last token
	adjacent   bool // two words with no '.' between them (fine in a phrase, not in a local part)
	quoted     bool // a quoted string among the words
}

// xwords scans phrase / obs-phrase / obs-local-part tokens (RFC 5322 §3.2.5, §4.1, §4.4)
// with the CFWS between them. An RFC 2047 encoded word is taken whole even where its text
// holds specials ("=?utf-8?q?Smith,_John?=").
func (p *listScanner) xwords() (w wordRun) {
	w.start, w.end = -1, -1
	prevWord := false
	for {
		cf := p.xcfws()
		if p.end() {
			return w
		}
		tok := p.o
		c := p.s[p.o]
		switch {
		case c == '"':
			p.xquoted()
			w.quoted = true
		case c == '.':
			p.o++
		case isAtext6532(c):
			p.xatom()
		default:
			return w
		}
		if w.start < 0 {
			w.start = tok
		} else if cf {
			w.inner = true
		}
		isWord := c != '.'
		if isWord {
			w.words++
			w.adjacent = w.adjacent || prevWord
		}
		prevWord = isWord
		w.end = p.o
	}
}
