package rewrite

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"testing"
)

// Calendar benchmarks, with the real table:
//
//	go test -run '^$' -bench Calendar -benchmem ./rewrite/

func BenchmarkRewriteCalendar(b *testing.B) {
	snap := calendarSnapshot(b)
	rw := LookupAddresses(snap, Outbound)
	for _, c := range []struct{ name, file string }{
		{"invitation-qp", "outlook-request.eml"},
		{"reply-base64", "outlook-reply.eml"},
	} {
		hs, body := readCalendarMessage(b, c.file, false)
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if res, err := RewriteCalendar(hs, body, rw, CalendarOptions{}); err != nil || !res.Changed() {
					b.Fatalf("changed=%v err=%v", res.Changed(), err)
				}
			}
		})
	}
	hs, body := plainMultipart(256 << 10)
	b.Run("multipart-without-calendar", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if res, err := RewriteCalendar(hs, body, rw, CalendarOptions{}); err != nil || res.Changed() {
				b.Fatalf("changed=%v err=%v", res.Changed(), err)
			}
		}
	})
}

// plainMultipart builds the usual message without calendar data: a multipart/mixed of a
// multipart/alternative (text/plain, text/html) and a base64 attachment of n bytes.
func plainMultipart(n int) ([]Header, []byte) {
	att := make([]byte, n)
	for i := range att {
		att[i] = byte(i * 7919 >> 3)
	}
	enc := base64.StdEncoding.EncodeToString(att)
	var b bytes.Buffer
	b.WriteString("This is a multi-part message in MIME format.\r\n--mixed\r\n" +
		"Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n" +
		"--alt\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, "Line %d of the report, for john@tenanta.contoso.com and the team.\r\n", i)
	}
	b.WriteString("\r\n--alt\r\nContent-Type: text/html; charset=\"us-ascii\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<html><body>\r\n")
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, "<p>Line %d of the report, for <a href=3D\"mailto:john@tenanta.contoso.com\">John</a>.</p>\r\n", i)
	}
	b.WriteString("</body></html>\r\n\r\n--alt--\r\n\r\n--mixed\r\n" +
		"Content-Type: application/pdf; name=\"report.pdf\"\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n")
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n\r\n--mixed--\r\n")
	return []Header{{Name: "Content-Type", Value: " multipart/mixed; boundary=\"mixed\""}}, b.Bytes()
}
