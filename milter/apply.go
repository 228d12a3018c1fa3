package milter

import (
	"bytes"
	"fmt"

	gomilter "github.com/emersion/go-milter"

	"github.com/edgerewrite/edgerewrite/milter/decide"
)

// applyActions sends the actions through go-milter at end of message. An AddRcpt's arguments
// are registered in the connection state first, so the wire layer sends SMFIR_ADDRCPT_PAR.
// The header value goes as it is: with SMFIP_HDR_LEADSPC Postfix adds no space, and go-milter
// turns CRLF into LF (Postfix's own line end), so folding survives.
func applyActions(m *gomilter.Modifier, cs *connState, acts []decide.Action) error {
	for _, a := range acts {
		var err error
		switch a.Kind {
		case decide.ChangeFrom:
			err = m.ChangeFrom("<" + a.Addr + ">")
		case decide.DeleteRcpt:
			err = m.DeleteRecipient(a.Addr)
		case decide.AddRcpt:
			if cs != nil {
				cs.registerAddRcpt(a.Addr, a.Args)
			}
			err = m.AddRecipient(a.Addr)
		case decide.ReplaceBody:
			for _, piece := range bodyPieces(a.Body, maxBodyPiece) {
				if err = m.ReplaceBody(piece); err != nil {
					break
				}
			}
		case decide.ChangeHeader:
			err = m.ChangeHeader(a.Index, a.Name, a.Value)
		}
		if err != nil {
			return fmt.Errorf("sending %s: %w", a, err)
		}
	}
	return nil
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
