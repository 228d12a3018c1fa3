package milter

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	gomilter "github.com/emersion/go-milter"

	"github.com/edgerewrite/edgerewrite/milter/decide"
)

// applyActions sends the actions at end of message. Where the session has the wire layer
// (always, in the daemon) each request is encoded once into the connection's reused buffer and
// queued there (wireConn.queue) to go out with the final reply; go-milter's Modifier, which
// builds each packet in fresh buffers, serves only a session without one. Either way an
// AddRcpt's arguments are registered first, so the wire layer sends SMFIR_ADDRCPT_PAR. A header
// value goes as it is: with SMFIP_HDR_LEADSPC Postfix adds no space; CRLF becomes LF
// (Postfix's own line end), so folding survives.
func applyActions(m *gomilter.Modifier, cs *connState, acts []decide.Action) error {
	for _, a := range acts {
		if a.Kind == decide.AddRcpt && cs != nil {
			cs.registerAddRcpt(a.Addr, a.Args)
		}
		var err error
		if cs != nil && cs.wire != nil {
			err = queueAction(cs, a)
		} else {
			err = modifierAction(m, a)
		}
		if err != nil {
			return fmt.Errorf("sending %s: %w", a, err)
		}
	}
	return nil
}

// queueAction encodes one action as its modification request (milter-protocol.txt, the
// SMFIR_* data) into cs.req and queues it on the wire.
func queueAction(cs *connState, a decide.Action) error {
	b := cs.req[:0]
	defer func() { cs.req = b[:0] }()
	switch a.Kind {
	case decide.ChangeFrom:
		b = append(append(append(b, '<'), a.Addr...), '>', 0)
		return cs.wire.queue(smfirChgFrom, b)
	case decide.DeleteRcpt:
		b = append(append(append(b, '<'), a.Addr...), '>', 0)
		return cs.wire.queue(smfirDelRcpt, b)
	case decide.AddRcpt:
		b = append(append(append(b, '<'), a.Addr...), '>', 0)
		return cs.wire.queue(smfirAddRcpt, b)
	case decide.ChangeHeader:
		b = binary.BigEndian.AppendUint32(b, uint32(a.Index))
		b = append(append(b, a.Name...), 0)
		b = append(appendLF(b, a.Value), 0)
		return cs.wire.queue(smfirChgHeader, b)
	case decide.AddHeader:
		b = append(append(b, a.Name...), 0)
		b = append(appendLF(b, a.Value), 0)
		return cs.wire.queue(smfirAddHeader, b)
	case decide.ReplaceBody:
		for _, piece := range bodyPieces(a.Body, maxBodyPiece) {
			b = appendLF(b[:0], string(piece))
			if err := cs.wire.queue(smfirReplBody, b); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("milter: no request for action kind %d", a.Kind)
}

// appendLF appends s with each CRLF written as LF, Postfix's line end in its queue file.
func appendLF(b []byte, s string) []byte {
	for {
		i := strings.Index(s, "\r\n")
		if i < 0 {
			return append(b, s...)
		}
		b = append(b, s[:i]...)
		b = append(b, '\n')
		s = s[i+2:]
	}
}

// modifierAction sends one action through go-milter's Modifier.
func modifierAction(m *gomilter.Modifier, a decide.Action) error {
	switch a.Kind {
	case decide.ChangeFrom:
		return m.ChangeFrom("<" + a.Addr + ">")
	case decide.DeleteRcpt:
		return m.DeleteRecipient(a.Addr)
	case decide.AddRcpt:
		return m.AddRecipient(a.Addr)
	case decide.ReplaceBody:
		for _, piece := range bodyPieces(a.Body, maxBodyPiece) {
			if err := m.ReplaceBody(piece); err != nil {
				return err
			}
		}
		return nil
	case decide.ChangeHeader:
		return m.ChangeHeader(a.Index, a.Name, a.Value)
	case decide.AddHeader:
		return m.AddHeader(a.Name, a.Value)
	}
	return fmt.Errorf("milter: no request for action kind %d", a.Kind)
}

// maxBodyPiece is the most body one SMFIR_REPLBODY carries: a body chunk's size
// (MILTER_CHUNK_SIZE); the MTA appends the pieces in order.
const maxBodyPiece = 65535

// bodyPieces cuts body into pieces of at most max bytes, each ending after a line feed where
// the body has one in reach, and never between a CR and its LF: go-milter turns CRLF into the
// MTA's LF within one piece, so a pair split in two would leave a stray CR.
func bodyPieces(body []byte, max int) [][]byte {
	var out [][]byte
	for len(body) > max {
		cut := bytes.LastIndexByte(body[:max], '\n') + 1
		if cut == 0 {
			cut = max
			if body[cut-1] == '\r' && body[cut] == '\n' {
				cut--
			}
		}
		out = append(out, body[:cut])
		body = body[cut:]
	}
	if len(body) > 0 {
		out = append(out, body)
	}
	return out
}
