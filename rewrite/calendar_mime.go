package rewrite

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"mime/quotedprintable"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// span is a byte range [start, end).
type span struct{ start, end int }

// splitMultipart returns where each body part of a multipart body b lies (part header
// included), per RFC 2046 §5.1.1: a delimiter is a line starting with "--" boundary,
// optionally "--" for the closing one, then only transport padding (spaces and tabs). The line
// break before a delimiter belongs to the delimiter, not to the part. The preamble and the
// epilogue are no part.
//
// go-message's multipart reader finds the same parts but not their offsets, which the splice
// needs.
func splitMultipart(b []byte, boundary string) ([]span, error) {
	dash := []byte("--" + boundary)
	var parts []span
	partStart := -1 // in the preamble
	for off := 0; off < len(b); {
		k := bytes.Index(b[off:], dash)
		if k < 0 {
			break
		}
		k += off
		lineEnd, next := len(b), len(b)
		if nl := bytes.IndexByte(b[k:], '\n'); nl >= 0 {
			lineEnd, next = k+nl, k+nl+1
			if lineEnd > k && b[lineEnd-1] == '\r' {
				lineEnd--
			}
		}
		if k > 0 && b[k-1] != '\n' {
			off = k + 1
			continue
		}
		rest := b[k+len(dash) : lineEnd]
		closing := bytes.HasPrefix(rest, []byte("--"))
		if closing {
			rest = rest[2:]
		}
		if len(bytes.Trim(rest, " \t")) != 0 {
			// A longer boundary that starts with this one, or text that does: RFC 2046
			// forbids both, and parsers disagree on whether it delimits (go-message says
			// yes to "--b-x", the standard library no).
			return nil, fmt.Errorf("line %q starts like a delimiter of boundary %q", b[k:min(lineEnd, k+len(dash)+20)], boundary)
		}
		if partStart >= 0 {
			end := k
			if end > 0 && b[end-1] == '\n' {
				end--
				if end > 0 && b[end-1] == '\r' {
					end--
				}
			}
			parts = append(parts, span{partStart, max(end, partStart)})
		}
		if closing {
			if partStart < 0 {
				return nil, errors.New("closing delimiter before the first part")
			}
			return parts, nil
		}
		partStart = next
		off = next
	}
	if partStart < 0 {
		return nil, fmt.Errorf("no delimiter line for boundary %q", boundary)
	}
	return nil, fmt.Errorf("no closing delimiter for boundary %q", boundary)
}

// readPartHeader parses the header of body part p with go-message and returns it and where
// the part's content starts in p: after the first empty line (RFC 2045 §3, RFC 5322 §2.1), or
// at the end of a part that has none. ok is false for a header that does not parse.
func readPartHeader(p []byte) (h message.Header, contentStart int, ok bool) {
	end := len(p)
	switch {
	case bytes.HasPrefix(p, []byte("\r\n")):
		end = 2
	case bytes.HasPrefix(p, []byte("\n")):
		end = 1
	default:
		if i := bytes.Index(p, []byte("\n\n")); i >= 0 {
			end = i + 2
		}
		if i := bytes.Index(p[:end], []byte("\n\r\n")); i >= 0 {
			end = i + 3
		}
	}
	// The reader sees only the header block, so that its buffer is no larger.
	th, err := textproto.ReadHeader(bufio.NewReaderSize(bytes.NewReader(p[:end]), end))
	if err != nil {
		return message.Header{}, 0, false
	}
	return message.Header{Header: th}, end, true
}

// transferCoding is a calendar part's Content-Transfer-Encoding (RFC 2045 §6).
type transferCoding interface {
	// decode returns the calendar text of the part content.
	decode(content []byte) ([]byte, error)
	// encode returns the new part content: content with the edits of its decoded text applied,
	// in the same transfer encoding and layout.
	encode(content, text []byte, edits []icalEdit) []byte
	// asciiOnly: the encoding cannot carry 8-bit data (7bit).
	asciiOnly() bool
}

// applyEdits returns text with the edits (in order, not overlapping) applied.
func applyEdits(text []byte, edits []icalEdit) []byte {
	n := len(text)
	for _, e := range edits {
		n += len(e.repl) - (e.end - e.start)
	}
	out := make([]byte, 0, n)
	last := 0
	for _, e := range edits {
		out = append(out, text[last:e.start]...)
		out = append(out, e.repl...)
		last = e.end
	}
	return append(out, text[last:]...)
}

// identityCoding is 7bit, 8bit and binary: the content is the text.
type identityCoding struct{ ascii bool }

func (identityCoding) decode(content []byte) ([]byte, error) { return content, nil }
func (identityCoding) encode(content, _ []byte, edits []icalEdit) []byte {
	return applyEdits(content, edits)
}
func (c identityCoding) asciiOnly() bool { return c.ascii }

// base64Coding re-encodes the whole part, keeping the original's line length, line ending and
// the white space around the encoded text.
type base64Coding struct {
	prefix, suffix []byte
	lineLen        int // 0: one line
	eol            []byte
}

func (c *base64Coding) decode(content []byte) ([]byte, error) {
	core := bytes.TrimLeft(content, " \t\r\n")
	c.prefix = content[:len(content)-len(core)]
	trimmed := bytes.TrimRight(core, " \t\r\n")
	c.suffix = core[len(trimmed):]
	core = trimmed
	c.eol = eolOf(content)
	if i := bytes.IndexAny(core, "\r\n"); i >= 0 {
		c.lineLen = i
	}
	compact := make([]byte, 0, len(core))
	for _, b := range core {
		if b != ' ' && b != '\t' && b != '\r' && b != '\n' {
			compact = append(compact, b)
		}
	}
	text := make([]byte, base64.StdEncoding.DecodedLen(len(compact)))
	n, err := base64.StdEncoding.Decode(text, compact)
	if err != nil {
		return nil, err
	}
	return text[:n], nil
}

func (c *base64Coding) encode(_, text []byte, edits []icalEdit) []byte {
	enc := base64.StdEncoding.EncodeToString(applyEdits(text, edits))
	out := make([]byte, 0, len(c.prefix)+len(enc)+len(enc)/max(c.lineLen, 1)*len(c.eol)+len(c.suffix))
	out = append(out, c.prefix...)
	for len(enc) > 0 {
		n := len(enc)
		if c.lineLen > 0 && n > c.lineLen {
			n = c.lineLen
		}
		out = append(out, enc[:n]...)
		if enc = enc[n:]; len(enc) > 0 {
			out = append(out, c.eol...)
		}
	}
	return append(out, c.suffix...)
}

func (*base64Coding) asciiOnly() bool { return false }

// qpCoding re-encodes only the quoted-printable lines (a line with its soft-broken
// continuations) that hold an edited part of the text; the others keep their bytes.
type qpCoding struct{}

func (*qpCoding) decode(content []byte) ([]byte, error) {
	text := bytes.NewBuffer(make([]byte, 0, len(content))) // decoding never grows it
	_, err := text.ReadFrom(quotedprintable.NewReader(bytes.NewReader(content)))
	return text.Bytes(), err
}

func (*qpCoding) asciiOnly() bool { return false }

// qpLine is one encoded line with its soft-broken continuations and its hard line break
// (content[enc.start:enc.end]), and the text it decodes to (text[dec.start:dec.end]).
type qpLine struct{ enc, dec span }

func (*qpCoding) encode(content, text []byte, edits []icalEdit) []byte {
	lines := qpLines(content, text)
	eol := eolOf(content)
	out := make([]byte, 0, len(content)+len(content)/8)
	last := 0 // content copied up to here
	for i := 0; i < len(edits); {
		first := qpLineAt(lines, edits[i].start)
		end := qpLineAt(lines, edits[i].end-1)
		j := i + 1
		for j < len(edits) && edits[j].start < lines[end].dec.end {
			end = qpLineAt(lines, edits[j].end-1)
			j++
		}
		var t []byte
		pos := lines[first].dec.start
		for _, e := range edits[i:j] {
			t = append(t, text[pos:e.start]...)
			t = append(t, e.repl...)
			pos = e.end
		}
		t = append(t, text[pos:lines[end].dec.end]...)
		out = append(out, content[last:lines[first].enc.start]...)
		out = appendQP(out, t, eol)
		last = lines[end].enc.end
		i = j
	}
	return append(out, content[last:]...)
}

// qpLineAt returns the index of the line whose text holds offset pos.
func qpLineAt(lines []qpLine, pos int) int {
	for i, l := range lines {
		if pos < l.dec.end {
			return i
		}
	}
	return len(lines) - 1
}

// qpLines splits quoted-printable content into encoded lines and maps each to the text it
// decoded to. A hard line break decodes to itself (CRLF or LF, as quotedprintable.Reader
// keeps it), so the n-th LF of the text ends the n-th line. When content encodes a line feed
// (=0A) that count does not hold, and the whole content is one line: re-encoded as a whole,
// still the same text.
func qpLines(content, text []byte) []qpLine {
	whole := []qpLine{{enc: span{0, len(content)}, dec: span{0, len(text)}}}
	if bytes.Contains(content, []byte("=0A")) || bytes.Contains(content, []byte("=0a")) {
		return whole
	}
	var lines []qpLine
	encStart, decStart := 0, 0
	for i := 0; i < len(content); {
		next := len(content)
		if nl := bytes.IndexByte(content[i:], '\n'); nl >= 0 {
			next = i + nl + 1
		}
		soft := bytes.HasSuffix(bytes.TrimRight(content[i:next], " \t\r\n"), []byte("="))
		i = next
		if soft && i < len(content) {
			continue
		}
		decEnd := len(text)
		if i < len(content) || content[len(content)-1] == '\n' {
			nl := bytes.IndexByte(text[decStart:], '\n')
			if nl < 0 {
				return whole
			}
			decEnd = decStart + nl + 1
		}
		lines = append(lines, qpLine{enc: span{encStart, i}, dec: span{decStart, decEnd}})
		encStart, decStart = i, decEnd
	}
	if len(lines) == 0 || decStart != len(text) {
		return whole
	}
	return lines
}

// appendQP appends t quoted-printable encoded (RFC 2045 §6.7): printable ASCII but '=' as is,
// space and tab as is unless before a line break, all else =XX. A line break of t that is
// eol (the part's own, CRLF or LF) is a hard line break; a lone CR or LF is encoded, so that
// no bare line feed gets into a CRLF message. A soft line break (with eol) comes before an
// encoded line would exceed 76 characters.
func appendQP(out, t, eol []byte) []byte {
	const hex = "0123456789ABCDEF"
	col := 0
	for i := 0; i < len(t); i++ {
		if bytes.HasPrefix(t[i:], eol) {
			out = append(out, eol...)
			i += len(eol) - 1
			col = 0
			continue
		}
		c := t[i]
		literal := c >= '!' && c <= '~' && c != '='
		if c == ' ' || c == '\t' {
			literal = i+1 < len(t) && !bytes.HasPrefix(t[i+1:], eol)
		}
		n := 3
		if literal {
			n = 1
		}
		if col+n > 75 {
			out = append(out, '=')
			out = append(out, eol...)
			col = 0
		}
		if literal {
			out = append(out, c)
		} else {
			out = append(out, '=', hex[c>>4], hex[c&0xf])
		}
		col += n
	}
	return out
}

// eolOf returns the line ending b uses (that of its first line), CRLF if it has none.
func eolOf(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 && (i == 0 || b[i-1] != '\r') {
		return []byte("\n")
	}
	return []byte("\r\n")
}
