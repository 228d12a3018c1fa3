package milter

import (
	"strconv"
	"strings"

	gomilter "github.com/emersion/go-milter"

	"github.com/edgerewrite/edgerewrite/policy"
)

// replyResponse is SMFIR_REPLYCODE with the verdict's code, enhanced status and text. Postfix
// insists on a 4xx or 5xx code whose class the status repeats, and treats '%' as a format
// character (a single '%' is dropped), so both are made right here. go-milter keeps the
// session after a reply code, which matters at SMFIC_RCPT: refusing one recipient must not end
// the message.
func replyResponse(v policy.Verdict) gomilter.Response {
	code, status, text := 550, "5.7.1", "message refused"
	if v.Action == policy.Tempfail {
		code, status, text = 451, "4.7.1", "try again later"
	}
	if v.Code/100 == code/100 {
		code = v.Code
	}
	if len(v.Status) >= 5 && v.Status[0] == byte('0'+code/100) && v.Status[1] == '.' {
		status = v.Status
	}
	if t := strings.TrimSpace(v.Text); t != "" {
		text = t
	}
	return gomilter.NewResponseStr(byte(smfirReplyCode), strconv.Itoa(code)+" "+status+" "+replyText(text))
}

// tempfailResponse is a 451 reply with our own status and text.
func tempfailResponse(status, text string) gomilter.Response {
	return replyResponse(policy.Verdict{Action: policy.Tempfail, Code: 451, Status: status, Text: text})
}

// replyText makes text safe in one SMTP reply line: control bytes become spaces, '%' is doubled.
func replyText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 32 || c == 127:
			b.WriteByte(' ')
		case c == '%':
			b.WriteString("%%")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// holdReason is the SMFIR_QUARANTINE reason: the verdict's text, else its log reason.
func holdReason(v policy.Verdict) string {
	r := v.Text
	if r == "" {
		r = v.Reason
	}
	if r == "" {
		r = "held by edgerewrite"
	}
	return strings.Map(func(c rune) rune {
		if c < 32 || c == 127 {
			return ' '
		}
		return c
	}, r)
}
