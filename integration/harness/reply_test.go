package harness

import (
	"bufio"
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

func TestReadReply(t *testing.T) {
	tests := []struct {
		in      string
		want    Reply
		wantErr bool
	}{
		{in: "250 2.1.0 Ok\r\n", want: Reply{250, "2.1.0", "Ok"}},
		{in: "220 mx ESMTP\r\n", want: Reply{220, "", "mx ESMTP"}},
		{in: "250-mx\r\n250-PIPELINING\r\n250 DSN\r\n", want: Reply{250, "", "mx\nPIPELINING\nDSN"}},
		{in: "550-5.7.1 first\r\n550 5.7.1 second\r\n", want: Reply{550, "5.7.1", "first\nsecond"}},
		{in: "451 4.7.1 Service unavailable - try again later\r\n", want: Reply{451, "4.7.1", "Service unavailable - try again later"}},
		{in: "554 5.7.1\n", want: Reply{554, "5.7.1", ""}},
		{in: "221\r\n", want: Reply{221, "", ""}},
		{in: "250-a\r\n251 b\r\n", wantErr: true},
		{in: "hello\r\n", wantErr: true},
		{in: "250x\r\n", wantErr: true},
		{in: "250-a\r\n", wantErr: true},
	}
	for _, tc := range tests {
		got, err := readReply(bufio.NewReader(strings.NewReader(tc.in)))
		if (err != nil) != tc.wantErr {
			t.Errorf("readReply(%q) error %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if !tc.wantErr && got != tc.want {
			t.Errorf("readReply(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
}

func TestReplyErr(t *testing.T) {
	if err := (Reply{Code: 250}).Err(); err != nil {
		t.Errorf("250: %v", err)
	}
	var se *smtp.SMTPError
	err := Reply{Code: 550, Enhanced: "5.7.1", Text: "no"}.Err()
	if !errors.As(err, &se) || se.Code != 550 || se.EnhancedCode != (smtp.EnhancedCode{5, 7, 1}) || se.Message != "no" {
		t.Errorf("550 5.7.1: %#v", err)
	}
	if s := (Reply{Code: 451, Enhanced: "4.7.1", Text: "a\nb"}).String(); s != "451 4.7.1 a / b" {
		t.Errorf("String = %q", s)
	}
}
