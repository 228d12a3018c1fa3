package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/emersion/go-message/textproto"

	"github.com/edgerewrite/edgerewrite/rewrite"
)

// maxMessageHeader bounds the header block `edgerewrite test --message` reads, as go-message
// asks of ReadHeader's callers: a header line has no length limit of its own there.
const maxMessageHeader = 1 << 20

// readMessageHeader reads the header block of an RFC 5322 message (RFC 5322 §2.2) with
// go-message's textproto reader, and gives each field as Postfix hands it to a milter that
// negotiated SMFIP_HDR_LEADSPC: the name as written, the value byte for byte from after the
// colon (leading white space kept), the lines of a folded field joined with LF, each keeping
// its leading white space. As Postfix's smtp_get does, every CR before a line's LF is part of
// the line end and a CR anywhere else stays in the value. A first line in mbox "From " form is
// skipped.
func readMessageHeader(path string, stdin io.Reader) ([]rewrite.Header, error) {
	hs, _, err := readMessage(path, stdin, 0)
	return hs, err
}

// readMessage is readMessageHeader that also reads up to maxBody bytes of the body that follows
// the header (for calendar data); a longer body is cut there, which the decision then treats as
// over its size limit.
func readMessage(path string, stdin io.Reader, maxBody int64) ([]rewrite.Header, []byte, error) {
	src := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, fmt.Errorf("--message: %w", err)
		}
		defer f.Close()
		src = f
	}
	lr := &io.LimitedReader{R: src, N: maxMessageHeader}
	br := bufio.NewReader(lr)
	lineNo := 1
	if b, err := br.Peek(5); err == nil && string(b) == "From " {
		// An mbox "From " line is not a header field; one longer than the buffer comes in
		// several pieces.
		_, err := br.ReadSlice('\n')
		for err == bufio.ErrBufferFull {
			_, err = br.ReadSlice('\n')
		}
		if err != nil && err != io.EOF {
			return nil, nil, fmt.Errorf("--message %s: %w", path, err)
		}
		lineNo++
	}
	h, err := textproto.ReadHeader(br)
	var hs []rewrite.Header
	fields := h.Fields()
	for fields.Next() {
		raw, rerr := fields.Raw()
		if rerr != nil {
			// Raw fails only for fields added by hand, never for those ReadHeader read.
			return nil, nil, fmt.Errorf("--message %s:%d: %w", path, lineNo, rerr)
		}
		hs = append(hs, headerFromRaw(raw))
		lineNo += bytes.Count(raw, []byte("\n"))
	}
	// The limit cut the header off if every byte it allowed was read and none is left after
	// the header: the header ran on to (or right up to) the limit.
	if lr.N == 0 && br.Buffered() == 0 {
		return nil, nil, fmt.Errorf("--message %s: the header block is longer than %d bytes", path, maxMessageHeader)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("--message %s:%d: not a header field: %w", path, lineNo, err)
	}
	var rest []byte
	if maxBody > 0 {
		// The header reader may have buffered the body's start; the rest is still in src.
		rest, err = io.ReadAll(io.LimitReader(io.MultiReader(br, src), maxBody))
		if err != nil {
			return nil, nil, fmt.Errorf("--message %s: reading the body: %w", path, err)
		}
	}
	return hs, rest, nil
}

// headerFromRaw splits a field as go-message's reader keeps it (its lines, each ended with the
// CRLF it appends in place of the line end it removed) into the name before the first colon,
// less the white space obsolete syntax allows before the colon (RFC 5322 §4.5.3), and the
// value after it, with the line ends turned into LF and the CRs before them dropped.
func headerFromRaw(raw []byte) rewrite.Header {
	colon := bytes.IndexByte(raw, ':')
	name := bytes.TrimRight(raw[:colon], " \t")
	lines := bytes.Split(bytes.TrimSuffix(raw[colon+1:], []byte("\n")), []byte("\n"))
	for i, line := range lines {
		lines[i] = bytes.TrimRight(line, "\r")
	}
	return rewrite.Header{Name: string(name), Value: string(bytes.Join(lines, []byte("\n")))}
}
