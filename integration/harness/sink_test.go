package harness

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// TestSendToSink drives the client against the sink directly (no Postfix): every parameter the
// client sends must be recorded byte for byte, message content must not be mistaken for commands.
func TestSendToSink(t *testing.T) {
	sink := NewSink(t)
	data := BuildMessage([]string{"From: a@example.org", "Subject: s"}, "MAIL FROM:<not@a.command>\n.\n..\nRCPT TO:<nor@this>\n")
	res := MustSend(t, sink.Addr(), Envelope{
		LocalAddr: "127.0.0.7", From: "a@example.org", RET: "FULL", ENVID: "id+2B1", Body: "8BITMIME", SMTPUTF8: true,
		Rcpts: []RcptTo{
			{Addr: "b@example.net", Notify: "SUCCESS,DELAY", ORCPT: "rfc822;b+2Bx@contoso.com"},
			{Addr: "c@example.net"},
		},
		Data: data,
	})
	if len(res.Rcpts) != 2 || res.Mail.Code != 250 || res.Data.Code != 250 {
		t.Fatalf("replies: mail %s rcpts %v data %s", res.Mail, res.Rcpts, res.Data)
	}
	msgs, err := sink.WaitFor(1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if m.MailLine != "MAIL FROM:<a@example.org> BODY=8BITMIME RET=FULL ENVID=id+2B1 SMTPUTF8" {
		t.Errorf("MailLine %q", m.MailLine)
	}
	if m.RET() != "FULL" || m.ENVID() != "id+2B1" || m.Body() != "8BITMIME" || !m.SMTPUTF8() {
		t.Errorf("MAIL params %q", m.MailParams)
	}
	if r := m.Rcpts[0]; r.Addr != "b@example.net" || r.Notify() != "SUCCESS,DELAY" || r.ORCPT() != "rfc822;b+2Bx@contoso.com" {
		t.Errorf("rcpt 0 %q", r.Line)
	}
	if r := m.Rcpts[1]; r.Addr != "c@example.net" || len(r.Params) != 0 {
		t.Errorf("rcpt 1 %q", r.Line)
	}
	if string(m.Data) != string(data) {
		t.Errorf("data %q, want %q", m.Data, data)
	}
	if m.Helo != "client.edgerewrite.test" || !strings.HasPrefix(m.RemoteAddr, "127.0.0.7:") {
		t.Errorf("helo %q remote %q", m.Helo, m.RemoteAddr)
	}
}

func TestSinkFailWithAndWaitFor(t *testing.T) {
	sink := NewSink(t)
	sink.FailWith(func(m *Message) *smtp.SMTPError {
		if m.From == "fail@example.org" {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "fault"}
		}
		return nil
	})
	env := Envelope{From: "fail@example.org", Rcpts: Rcpts("b@example.net"), Data: BuildMessage(nil, "x")}
	res, err := Send(sink.Addr(), env)
	if err != nil {
		t.Fatal(err)
	}
	var se *smtp.SMTPError
	if !errors.As(res.Err(), &se) || se.Code != 451 || se.EnhancedCode != (smtp.EnhancedCode{4, 3, 0}) || res.Accepted() {
		t.Fatalf("Err() = %v, want 451 4.3.0", res.Err())
	}
	env.From = "ok@example.org"
	MustSend(t, sink.Addr(), env)
	if msgs, err := sink.WaitFor(1, time.Second); err != nil || len(msgs) != 1 || sink.Count() != 1 || sink.Refused() != 1 {
		t.Fatalf("messages %v err %v refused %d", msgs, err, sink.Refused())
	}
	_, err = sink.WaitFor(2, 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 messages") {
		t.Errorf("WaitFor(2) error %v", err)
	}
	sink.Reset()
	if len(sink.Messages()) != 0 || sink.Refused() != 0 {
		t.Error("Reset kept messages")
	}
}
