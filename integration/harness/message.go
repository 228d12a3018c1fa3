package harness

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Field is one header field (RFC 5322 §2.2) exactly as it appears in a message.
type Field struct {
	// Name is the field name as written.
	Name string
	// Value is everything after the colon up to the field's final line end: leading space,
	// folding (CRLF or LF followed by blanks) and trailing blanks kept.
	Value string
	// Raw is the whole field, final line end included: Name + ":" + Value + line end.
	Raw string
}

// Text is Value unfolded (RFC 5322 §2.2.3) and trimmed, for readable comparisons.
func (f Field) Text() string { return Unfold(f.Value) }

// Header is the ordered list of a message's header fields.
type Header []Field

// Get returns the Value of the first field with that name (case-insensitive), "" if none.
func (h Header) Get(name string) string {
	f, _ := h.Field(name, 1)
	return f.Value
}

// Values returns the Value of every field with that name, in order.
func (h Header) Values(name string) []string {
	var v []string
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			v = append(v, f.Value)
		}
	}
	return v
}

// Field returns the n-th (1-based) field with that name, as SMFIR_CHGHEADER counts them.
func (h Header) Field(name string, n int) (Field, bool) {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			if n--; n == 0 {
				return f, true
			}
		}
	}
	return Field{}, false
}

// Names returns the field names in order.
func (h Header) Names() []string {
	n := make([]string, len(h))
	for i, f := range h {
		n[i] = f.Name
	}
	return n
}

// Without returns the fields whose names are not among names (case-insensitive), e.g. to
// compare a sent header with a received one minus Received and Return-Path.
func (h Header) Without(names ...string) Header {
	var out Header
	for _, f := range h {
		drop := false
		for _, n := range names {
			drop = drop || strings.EqualFold(f.Name, n)
		}
		if !drop {
			out = append(out, f)
		}
	}
	return out
}

// Bytes is the header block as it was: every Raw concatenated (without the blank line).
func (h Header) Bytes() []byte {
	var b bytes.Buffer
	for _, f := range h {
		b.WriteString(f.Raw)
	}
	return b.Bytes()
}

// ErrNotHeader is wrapped by ParseMessage for a line in the header block that is neither a
// field nor a continuation line.
var ErrNotHeader = errors.New("not a header field")

// ParseMessage splits a message into its header fields and its body (what follows the blank
// line), changing no byte: Header.Bytes() + the blank line + body is the input. A line that is
// neither a field nor a continuation ends the header; the error names it, and body starts there.
func ParseMessage(raw []byte) (Header, []byte, error) {
	var h Header
	rest := raw
	for len(rest) > 0 {
		line := nextLine(rest)
		if isBlankLine(line) {
			return h, rest[len(line):], nil
		}
		colon := bytes.IndexByte(line, ':')
		name := line
		if colon >= 0 {
			name = line[:colon]
		}
		if colon <= 0 || bytes.ContainsAny(name, " \t\r\n") {
			return h, rest, fmt.Errorf("header field %d %q: %w", len(h)+1, strings.TrimRight(string(line), "\r\n"), ErrNotHeader)
		}
		end := len(line)
		for end < len(rest) && (rest[end] == ' ' || rest[end] == '\t') {
			end += len(nextLine(rest[end:]))
		}
		field := string(rest[:end])
		value := field[colon+1:]
		if v, ok := strings.CutSuffix(value, "\n"); ok {
			value = strings.TrimSuffix(v, "\r")
		}
		h = append(h, Field{Name: string(name), Value: value, Raw: field})
		rest = rest[end:]
	}
	return h, nil, nil
}

func nextLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i+1]
	}
	return b
}

func isBlankLine(l []byte) bool {
	return string(l) == "\r\n" || string(l) == "\n"
}

// BuildMessage makes a message from header lines ("From: Alice <alice@example.com>"; folded
// lines may contain "\r\n\t") and a body. Line ends become CRLF; a header line gets its CRLF
// when it has none.
func BuildMessage(headers []string, body string) []byte {
	var b strings.Builder
	for _, h := range headers {
		b.WriteString(toCRLF(strings.TrimRight(h, "\r\n")) + "\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(toCRLF(body))
	return []byte(b.String())
}

// toCRLF turns every bare LF into CRLF.
func toCRLF(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

// Unfold removes folding (CRLF or LF before a blank) and surrounding blanks.
func Unfold(v string) string {
	v = strings.ReplaceAll(v, "\r\n", "")
	v = strings.ReplaceAll(v, "\n", "")
	return strings.TrimSpace(v)
}
