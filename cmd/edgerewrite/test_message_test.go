package main

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgerewrite/edgerewrite/rewrite"
)

func hdr(name, value string) rewrite.Header { return rewrite.Header{Name: name, Value: value} }

func TestReadMessageHeader(t *testing.T) {
	tests := []struct {
		file    string
		want    []rewrite.Header
		wantErr string
	}{
		{"outbound.eml", []rewrite.Header{
			hdr("Return-Path", " <john@tenanta.contoso.com>"),
			hdr("From", ` "Smith, John" <john@tenanta.contoso.com>`),
			hdr("To", " Bob <bob@example.net>,\n Mary <mary@contoso.com>"),
			hdr("Subject", " Quarterly figures"),
			hdr("Message-ID", " <123@tenanta.contoso.com>"),
		}, ""},
		// Values stay byte for byte: no space after the colon stays none, two stay two, a
		// trailing space and a CR inside a line stay; only the CRs of the line end go.
		{"crlf-folded.eml", []rewrite.Header{
			hdr("From", ` "Smith, John"`+"\n\t<john@tenanta.contoso.com>"),
			hdr("To", "bob@example.net"),
			hdr("Subject", "  two  spaces kept "),
			hdr("X-Bare-CR", " a\rb"),
		}, ""},
		{"lf-no-body.eml", []rewrite.Header{
			hdr("Return-Path", " <a@example.net>"),
			hdr("Received", " from x\n  by y;\n\tMon, 23 Nov 2026 12:00:00 +0000"),
			hdr("To", " b@example.net"),
		}, ""},
		{"empty-name.eml", []rewrite.Header{hdr("From", " a@example.net"), hdr("To", " b@example.net")}, ""},
		{"not-a-field.eml", nil, "not-a-field.eml:2: not a header field"},
		{"leading-continuation.eml", nil, "leading-continuation.eml:1: not a header field"},
		{"missing.eml", nil, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := readMessageHeader(filepath.Join("testdata", "messages", tt.file), nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestReadMessageHeaderTooLong(t *testing.T) {
	long := "X-Long: " + strings.Repeat("a", maxMessageHeader) + "\r\n\r\n"
	if _, err := readMessageHeader("-", strings.NewReader(long)); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("error %v, want the header block too long", err)
	}
	fits := "X-Short: a\r\n\r\n" + strings.Repeat("body\r\n", maxMessageHeader)
	if _, err := readMessageHeader("-", strings.NewReader(fits)); err != nil {
		t.Fatalf("a short header before a long body: %v", err)
	}
}

// FuzzReadMessageHeader checks what a milter relies on in each field read (a valid name; no
// CR left at a line end; every line after the first folded, starting with white space) and
// that writing the fields back and reading them again gives the same fields.
func FuzzReadMessageHeader(f *testing.F) {
	f.Add([]byte("From: a@example.net\r\nTo: b@example.net,\r\n c@example.net\r\n\r\nbody"))
	f.Add([]byte("From someone\nSubject: x\n"))
	f.Add([]byte(" leading continuation\n"))
	f.Add([]byte("Subject :\tx\r\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		hs, err := readMessageHeader("-", bytes.NewReader(b))
		if err != nil {
			return
		}
		var again bytes.Buffer
		for _, h := range hs {
			if !validFieldName(h.Name) {
				t.Fatalf("bad field name %q", h.Name)
			}
			for i, line := range strings.Split(h.Value, "\n") {
				if strings.HasSuffix(line, "\r") {
					t.Fatalf("CR of a line end left in value %q", h.Value)
				}
				if i > 0 && (line == "" || line[0] != ' ' && line[0] != '\t') {
					t.Fatalf("unfolded line in value %q", h.Value)
				}
			}
			again.WriteString(h.Name + ":" + strings.ReplaceAll(h.Value, "\n", "\r\n") + "\r\n")
		}
		again.WriteString("\r\n")
		hs2, err := readMessageHeader("-", &again)
		if err != nil {
			t.Fatalf("fields %q written back do not read: %v", hs, err)
		}
		if !slices.Equal(hs, hs2) {
			t.Fatalf("read %q, written back and read again %q", hs, hs2)
		}
	})
}
