package rewrite

import "strings"

// The lexical tokens of RFC 5322 §3.2 the address-list listScanner (header_scan.go) is built on:
// atoms and RFC 2047 encoded words, quoted strings, comments and folding white space.

// xatom scans 1*atext, taking an encoded word at its start whole.
func (p *listScanner) xatom() {
	if e := encodedWordEnd(p.s, p.o); e > 0 {
		p.o = e
	}
	for !p.end() && isAtext6532(p.s[p.o]) {
		p.o++
	}
}

// encodedWordEnd returns the end of an RFC 2047 encoded word "=?charset?enc?text?=" starting at
// s[i:], or -1.
func encodedWordEnd(s string, i int) int {
	if !strings.HasPrefix(s[i:], "=?") {
		return -1
	}
	j := i + 2
	n := 0
	for ; j < len(s) && s[j] > ' ' && s[j] < 0x7f && s[j] != '?'; j++ {
		n++
	}
	if n == 0 || j+3 > len(s) || s[j] != '?' || s[j+2] != '?' || !strings.ContainsRune("QqBb", rune(s[j+1])) {
		return -1
	}
	for j += 3; j < len(s) && s[j] > ' ' && s[j] < 0x7f && s[j] != '?'; j++ {
	}
	if !strings.HasPrefix(s[j:], "?=") {
		return -1
	}
	return j + 2
}

// xquoted: quoted-string (RFC 5322 §3.2.4), at the opening DQUOTE.
func (p *listScanner) xquoted() {
	open := p.o
	p.o++
	for !p.end() {
		switch p.s[p.o] {
		case '"':
			p.o++
			return
		case '\\':
			p.xquotedPair()
		case '\r', '\n':
			p.xlineBreak()
		default:
			p.o++
		}
	}
	p.xerrorf(open, "unterminated quoted string")
}

// xquotedPair: quoted-pair / obs-qp (RFC 5322 §3.2.1), at the backslash. It may not escape a
// line break.
func (p *listScanner) xquotedPair() {
	if p.o+1 >= len(p.s) || p.s[p.o+1] == '\r' || p.s[p.o+1] == '\n' {
		p.xerrorf(p.o, "backslash at the end of a line")
	}
	p.o += 2
}

// xcfws skips CFWS (RFC 5322 §3.2.2) and reports whether there was any.
func (p *listScanner) xcfws() bool {
	start := p.o
	for !p.end() {
		switch p.s[p.o] {
		case ' ', '\t':
			p.o++
		case '\r', '\n':
			p.xlineBreak()
		case '(':
			p.xcomment()
		default:
			return p.o > start
		}
	}
	return p.o > start
}

// xcomment: comment (RFC 5322 §3.2.2), nested, at the '('.
func (p *listScanner) xcomment() {
	open := p.o
	depth := 0
	for !p.end() {
		switch p.s[p.o] {
		case '(':
			depth++
			p.o++
		case ')':
			depth--
			p.o++
			if depth == 0 {
				return
			}
		case '\\':
			p.xquotedPair()
		case '\r', '\n':
			p.xlineBreak()
		default:
			p.o++
		}
	}
	p.xerrorf(open, "unclosed '('")
}

// xlineBreak consumes the CRLF (or bare LF) of folding white space: it must be followed by
// WSP (RFC 5322 §3.2.2), or end the value.
func (p *listScanner) xlineBreak() {
	at := p.o
	if p.s[p.o] == '\r' {
		if p.o+1 >= len(p.s) || p.s[p.o+1] != '\n' {
			p.xerrorf(at, "carriage return without line feed")
		}
		p.o++
	}
	p.o++
	if !p.end() && p.s[p.o] != ' ' && p.s[p.o] != '\t' {
		p.xerrorf(at, "line break not followed by white space")
	}
}

// atextMask is atext (RFC 5322 §3.2.3) for bytes 0-127 as a 128-bit set: ALPHA, DIGIT and
// "!#$%&'*+-/=?^_`{|}~".
const (
	atextMaskLo uint64 = 1<<'!' | 1<<'#' | 1<<'$' | 1<<'%' | 1<<'&' | 1<<'\'' | 1<<'*' | 1<<'+' |
		1<<'-' | 1<<'/' | 0x3ff<<'0' | 1<<'=' | 1<<'?'
	atextMaskHi uint64 = 0x3ffffff<<('A'-64) | 1<<('^'-64) | 1<<('_'-64) | 1<<('`'-64) |
		0x3ffffff<<('a'-64) | 1<<('{'-64) | 1<<('|'-64) | 1<<('}'-64) | 1<<('~'-64)
)

// isAtext6532 reports atext (RFC 5322 §3.2.3), with UTF8-non-ascii bytes (RFC 6532 §3.2).
func isAtext6532(c byte) bool {
	switch {
	case c < 64:
		return atextMaskLo>>c&1 != 0
	case c < 128:
		return atextMaskHi>>(c-64)&1 != 0
	}
	return true
}
