package harness

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseMessage(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		names   []string
		values  []string
		body    string
		wantErr bool
	}{
		{name: "crlf", raw: "From: a@b\r\nTo: c@d\r\n\r\nbody\r\n",
			names: []string{"From", "To"}, values: []string{" a@b", " c@d"}, body: "body\r\n"},
		{name: "lf", raw: "From: a@b\nSubject:x\n\nbody\n",
			names: []string{"From", "Subject"}, values: []string{" a@b", "x"}, body: "body\n"},
		{name: "folded keeps folding", raw: "To: a@b,\r\n\tc@d\r\n  e@f\r\nX: y\r\n\r\n",
			names: []string{"To", "X"}, values: []string{" a@b,\r\n\tc@d\r\n  e@f", " y"}, body: ""},
		{name: "empty value and colon in value", raw: "X-Empty:\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\n",
			names: []string{"X-Empty", "Date"}, values: []string{"", " Mon, 1 Jan 2024 10:00:00 +0000"}},
		{name: "trailing blanks kept", raw: "Subject: a  \r\n\r\n", names: []string{"Subject"}, values: []string{" a  "}},
		{name: "headers only", raw: "From: a@b\r\n", names: []string{"From"}, values: []string{" a@b"}},
		{name: "not a header ends header", raw: "From: a@b\r\nthis is body\r\n", names: []string{"From"},
			values: []string{" a@b"}, body: "this is body\r\n", wantErr: true},
		{name: "space before colon", raw: "From : a@b\r\n\r\n", body: "From : a@b\r\n\r\n", wantErr: true},
		{name: "leading continuation", raw: " x\r\n\r\n", body: " x\r\n\r\n", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, body, err := ParseMessage([]byte(tc.raw))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrNotHeader) {
				t.Errorf("err %v does not wrap ErrNotHeader", err)
			}
			if got := strings.Join(h.Names(), "|"); got != strings.Join(tc.names, "|") {
				t.Errorf("names %q, want %q", got, tc.names)
			}
			for i, v := range tc.values {
				if h[i].Value != v {
					t.Errorf("value %d = %q, want %q", i, h[i].Value, v)
				}
			}
			if string(body) != tc.body {
				t.Errorf("body %q, want %q", body, tc.body)
			}
			checkRoundTrip(t, []byte(tc.raw), h, body, err)
		})
	}
}

// checkRoundTrip asserts that parsing changed no byte: header bytes, the blank line (when the
// header ended normally) and the body make the input again.
func checkRoundTrip(t *testing.T, raw []byte, h Header, body []byte, err error) {
	t.Helper()
	hb := h.Bytes()
	if !bytes.HasPrefix(raw, hb) || !bytes.HasSuffix(raw, body) || len(hb)+len(body) > len(raw) {
		t.Fatalf("header %q + body %q do not make %q", hb, body, raw)
	}
	mid := string(raw[len(hb) : len(raw)-len(body)])
	switch {
	case err != nil && mid != "":
		t.Fatalf("malformed input: %q between header and body", mid)
	case err == nil && body == nil && mid != "":
		t.Fatalf("no body but %q left over", mid)
	case err == nil && body != nil && mid != "\r\n" && mid != "\n":
		t.Fatalf("separator %q, want a blank line", mid)
	}
	for _, f := range h {
		if f.Raw != f.Name+":"+f.Value+"\r\n" && f.Raw != f.Name+":"+f.Value+"\n" && f.Raw != f.Name+":"+f.Value {
			t.Fatalf("field %q is not Name:Value plus line end", f.Raw)
		}
	}
}

func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{
		"From: a@b\r\n\r\nbody", "To: a,\r\n b\r\n\r\n", "x\r\n", ":\r\n\r\n", "A:\n\n", "A: b\r", "\r\n\r\n",
		"Received: from x\r\n\tby y; Mon\r\nFrom: =?UTF-8?B?w6k=?= <a@b>\r\n\r\n.\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		h, body, err := ParseMessage(raw)
		checkRoundTrip(t, raw, h, body, err)
	})
}

func TestHeaderLookups(t *testing.T) {
	h, _, err := ParseMessage([]byte("Received: a\r\nTo: x@y\r\nreceived: b\r\nFrom: z@w\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Get("RECEIVED"); got != " a" {
		t.Errorf("Get = %q", got)
	}
	if got := h.Values("received"); len(got) != 2 || got[1] != " b" {
		t.Errorf("Values = %q", got)
	}
	if f, ok := h.Field("Received", 2); !ok || f.Raw != "received: b\r\n" {
		t.Errorf("Field(Received, 2) = %q %v", f.Raw, ok)
	}
	if _, ok := h.Field("Received", 3); ok {
		t.Error("Field(Received, 3) found")
	}
	if got := strings.Join(h.Without("Received").Names(), ","); got != "To,From" {
		t.Errorf("Without = %s", got)
	}
}

func TestBuildMessage(t *testing.T) {
	got := string(BuildMessage([]string{"From: a@b", "To: x,\n\ty\r\n"}, "line1\nline2\r\n"))
	want := "From: a@b\r\nTo: x,\r\n\ty\r\n\r\nline1\r\nline2\r\n"
	if got != want {
		t.Errorf("BuildMessage = %q, want %q", got, want)
	}
	if u := (Field{Value: " x,\r\n\ty "}).Text(); u != "x,\ty" {
		t.Errorf("Text = %q", u)
	}
}
