package milter

import (
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
		case decide.ChangeHeader:
			err = m.ChangeHeader(a.Index, a.Name, a.Value)
		}
		if err != nil {
			return fmt.Errorf("sending %s: %w", a, err)
		}
	}
	return nil
}
