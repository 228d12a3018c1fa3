package decide

import (
	"slices"
	"strings"

	"github.com/edgerewrite/edgerewrite/policy"
)

// CutoverTable is the file label of a cutover decided by a [[cutover]] table of the config
// rather than a cutover list file.
const CutoverTable = "[[cutover]]"

// CutoverHit is one cutover that deferred recipients of a message or held it.
type CutoverHit struct {
	// Action is "defer" or "hold".
	Action string
	// File is the cutover list file's name, or CutoverTable.
	File string
	// Entry is the entry: "file:line" of a list file, or the table's match reason.
	Entry string
}

// CutoverHits are the cutovers enforced on the message, one per entry: held (the message) and
// deferred (recipients refused at RCPT). None in observe mode, where nothing is enforced.
func (o *Outcome) CutoverHits() []CutoverHit {
	if o.Observe {
		return nil
	}
	var hits []CutoverHit
	add := func(action string, v policy.Verdict) {
		h := CutoverHit{Action: action, File: CutoverTable, Entry: v.Reason}
		if v.Source != "" {
			h.Entry = v.Source
			if i := strings.LastIndexByte(v.Source, ':'); i > 0 {
				h.File = v.Source[:i]
			}
		}
		if !slices.Contains(hits, h) {
			hits = append(hits, h)
		}
	}
	if o.Verdict.Action == policy.Hold && strings.HasPrefix(o.Verdict.Reason, "cutover-hold:") {
		add("hold", o.Verdict)
	}
	for _, r := range o.Rcpts {
		if v := r.Result.Verdict; v.Action == policy.Tempfail && strings.HasPrefix(v.Reason, "cutover-defer:") {
			add("defer", v)
		}
	}
	return hits
}
