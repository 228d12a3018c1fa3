package harness

import (
	"bufio"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/emersion/go-smtp"
)

// Reply is one SMTP reply (RFC 5321 §4.2) with its enhanced status code (RFC 3463) split off.
type Reply struct {
	// Code is the three-digit reply code; 0 means the command was never sent.
	Code int
	// Enhanced is the enhanced status code, e.g. "5.7.1"; "" when the server gave none.
	Enhanced string
	// Text is the rest of the reply; the lines of a multi-line reply are joined with "\n",
	// each without its code and enhanced code.
	Text string
}

// String is the reply as the server wrote its first line: "550 5.7.1 text".
func (r Reply) String() string {
	if r.Code == 0 {
		return "(not sent)"
	}
	s := strconv.Itoa(r.Code)
	if r.Enhanced != "" {
		s += " " + r.Enhanced
	}
	if r.Text != "" {
		s += " " + strings.ReplaceAll(r.Text, "\n", " / ")
	}
	return s
}

// Err is nil for a positive reply (below 400, or never sent) and otherwise the reply as an
// *smtp.SMTPError, so callers can use errors.As and compare Code and EnhancedCode.
func (r Reply) Err() error {
	if r.Code < 400 {
		return nil
	}
	e := &smtp.SMTPError{Code: r.Code, Message: r.Text}
	if r.Enhanced != "" {
		parts := strings.Split(r.Enhanced, ".")
		for i := range 3 {
			e.EnhancedCode[i], _ = strconv.Atoi(parts[i])
		}
	}
	return e
}

var enhancedRE = regexp.MustCompile(`^[245]\.[0-9]{1,3}\.[0-9]{1,3}( |$)`)

// readReply reads one possibly multi-line reply ("250-a", "250 b").
func readReply(r *bufio.Reader) (Reply, error) {
	var rep Reply
	var lines []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if line != "" {
				return rep, fmt.Errorf("reading SMTP reply: %w after %q", err, line)
			}
			return rep, fmt.Errorf("reading SMTP reply: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 3 {
			return rep, fmt.Errorf("malformed SMTP reply line %q", line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil || code < 200 || code > 599 || rep.Code != 0 && code != rep.Code {
			return rep, fmt.Errorf("malformed SMTP reply line %q", line)
		}
		rep.Code = code
		more := len(line) > 3 && line[3] == '-'
		if len(line) > 3 && line[3] != '-' && line[3] != ' ' {
			return rep, fmt.Errorf("malformed SMTP reply line %q", line)
		}
		text := ""
		if len(line) > 4 {
			text = line[4:]
		}
		if m := enhancedRE.FindString(text); m != "" {
			if rep.Enhanced == "" && len(lines) == 0 {
				rep.Enhanced = strings.TrimSpace(m)
			}
			if strings.TrimSpace(m) == rep.Enhanced {
				text = text[len(m):]
			}
		}
		lines = append(lines, text)
		if !more {
			break
		}
	}
	rep.Text = strings.Join(lines, "\n")
	return rep, nil
}
