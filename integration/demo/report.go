package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// printer writes the demo's plain-text report; colour only on a terminal.
type printer struct {
	w     io.Writer
	color bool
}

func newPrinter(w io.Writer) *printer {
	p := &printer{w: w}
	if f, ok := w.(*os.File); ok && os.Getenv("NO_COLOR") == "" {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.color = true
		}
	}
	return p
}

func (p *printer) printf(format string, args ...any) { fmt.Fprintf(p.w, format, args...) }

// paint wraps s in an ANSI colour (32 green, 31 red, 1 bold) on a terminal.
func (p *printer) paint(code, s string) string {
	if !p.color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// row is one "label  before -> after" line; after "" prints no arrow.
type row struct{ label, before, after string }

// rows prints rows with the before column aligned.
func (p *printer) rows(rs []row) {
	width := 0
	for _, r := range rs {
		if r.after != "" && len(r.before) > width {
			width = len(r.before)
		}
	}
	for _, r := range rs {
		if r.after == "" {
			p.printf("   %-10s %s\n", r.label, r.before)
			continue
		}
		p.printf("   %-10s %-*s  ->  %s\n", r.label, width, r.before, r.after)
	}
}

// envelopeIn is the envelope as the client sent it.
func envelopeIn(env harness.Envelope) (mail string, rcpts []string) {
	var mp []string
	for _, kv := range [][2]string{{"RET", env.RET}, {"ENVID", env.ENVID}} {
		if kv[1] != "" {
			mp = append(mp, kv[0]+"="+kv[1])
		}
	}
	mail = withParams(env.From, mp)
	for _, r := range env.Rcpts {
		var rp []string
		if r.Notify != "" {
			rp = append(rp, "NOTIFY="+r.Notify)
		}
		if r.ORCPT != "" {
			rp = append(rp, "ORCPT="+r.ORCPT)
		}
		rcpts = append(rcpts, withParams(r.Addr, rp))
	}
	return mail, rcpts
}

// sentHeader returns the header field as sent ("" if absent), unfolded.
func sentHeader(env harness.Envelope, name string) string {
	h, _, _ := harness.ParseMessage(env.Data)
	f, _ := h.Field(name, 1)
	return f.Text()
}

// deliveredRows are the before -> after lines of a delivered sample.
func deliveredRows(s *sample, d *delivered) []row {
	mail, rcpts := envelopeIn(s.env)
	rs := []row{{"MAIL FROM", mail, same(mail, d.Mail)}}
	for i := 0; i < len(rcpts) || i < len(d.Rcpts); i++ {
		var before, after string
		if i < len(rcpts) {
			before = rcpts[i]
		}
		if i < len(d.Rcpts) {
			after = same(before, d.Rcpts[i])
		} else {
			after = "(not delivered)"
		}
		rs = append(rs, row{"RCPT TO", before, after})
	}
	for _, name := range s.show {
		before := sentHeader(s.env, name)
		f, _ := d.Header.Field(name, 1)
		rs = append(rs, row{name + ":", before, same(before, f.Text())})
	}
	for _, prop := range s.calendar {
		before := calendarLine(s.env.Data, prop)
		rs = append(rs, row{"calendar", before, same(before, calendarLine(d.Data, prop))})
	}
	return rs
}

// calendarLine is the first content line of property prop in a message's calendar data,
// unfolded (RFC 5545 §3.1); the demo's calendar parts are 7bit, so no decoding is needed.
func calendarLine(msg []byte, prop string) string {
	text := strings.NewReplacer("\r\n ", "", "\r\n\t", "", "\n ", "", "\n\t", "").Replace(string(msg))
	for _, l := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		name, _, _ := strings.Cut(l, ":")
		name, _, _ = strings.Cut(name, ";")
		if strings.EqualFold(name, prop) {
			return l
		}
	}
	return ""
}

// refusedRows are the lines of a refused sample: what went in.
func refusedRows(s *sample) []row {
	mail, rcpts := envelopeIn(s.env)
	rs := []row{{"MAIL FROM", mail, ""}}
	for _, r := range rcpts {
		rs = append(rs, row{"RCPT TO", r, ""})
	}
	for _, name := range s.show {
		rs = append(rs, row{name + ":", sentHeader(s.env, name), ""})
	}
	return rs
}

// same is after, or "(unchanged)" when it equals before.
func same(before, after string) string {
	if before == after {
		return "(unchanged)"
	}
	return after
}

// wrap breaks long reply texts for the terminal.
func wrap(s string, width int) []string {
	var lines []string
	for len(s) > width {
		i := strings.LastIndexByte(s[:width], ' ')
		if i <= 0 {
			break
		}
		lines = append(lines, s[:i])
		s = s[i+1:]
	}
	return append(lines, s)
}
