package harness

import (
	"net"
	"slices"
	"strings"
	"testing"
)

func TestParseCommandParams(t *testing.T) {
	tests := []struct {
		line, path, params string
	}{
		{"MAIL FROM:<a@b> RET=HDRS ENVID=x+2By", "a@b", "RET=HDRS ENVID=x+2By"},
		{"MAIL FROM:<>", "", ""},
		{"mail from: <a@b>  SMTPUTF8  BODY=8BITMIME", "a@b", "SMTPUTF8 BODY=8BITMIME"},
		{"RCPT TO:<b@c> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@contoso.com", "b@c", "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@contoso.com"},
		{`RCPT TO:<"a>b"@c> NOTIFY=NEVER`, `"a>b"@c`, "NOTIFY=NEVER"},
		{`RCPT TO:<"a\">b"@c> X=1`, `"a\">b"@c`, "X=1"},
		{"RCPT TO:b@c NOTIFY=NEVER", "b@c", "NOTIFY=NEVER"},
		{"RCPT TO:<unterminated", "unterminated", ""},
		{"garbage", "", ""},
		// Tokens that are not keyword[=value] stay whole, as received.
		{"RCPT TO:<b@c> = =x X= -A NOTIFY=NEVER", "b@c", "= =x X= -A NOTIFY=NEVER"},
	}
	for _, tc := range tests {
		path, params := parseCommandParams(tc.line)
		if path != tc.path || params.String() != tc.params {
			t.Errorf("parseCommandParams(%q) = %q, %q; want %q, %q", tc.line, path, params.String(), tc.path, tc.params)
		}
	}
	_, ps := parseCommandParams("RCPT TO:<a@b> notify=DELAY")
	if v, ok := ps.Get("NOTIFY"); !ok || v != "DELAY" {
		t.Errorf("Get(NOTIFY) = %q, %v", v, ok)
	}
	if _, ok := ps.Get("ORCPT"); ok {
		t.Error("Get(ORCPT) found")
	}
}

func FuzzParseCommandParams(f *testing.F) {
	for _, s := range []string{"MAIL FROM:<a@b> RET=HDRS", `RCPT TO:<"x\"y>"@z> ORCPT=rfc822;a`, "RCPT TO:", ":<", `:<"\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		_, params := parseCommandParams(line)
		for _, p := range params {
			if p.Key == "" || strings.ContainsAny(p.Key+p.Value, " \t\r\n") {
				t.Fatalf("param %+v from %q", p, line)
			}
			if p.Value != "" && !isESMTPKeyword(p.Key) {
				t.Fatalf("param %+v from %q: a value under no keyword", p, line)
			}
		}
		// What String shows parses back to the same parameters.
		_, again := parseCommandParams("MAIL FROM:<> " + params.String())
		if !slices.Equal(params, again) {
			t.Fatalf("params %+v from %q read back as %+v", params, line, again)
		}
	})
}

// writeRecorder is a net.Conn whose writes go nowhere; tapConn only needs Write from it.
type writeRecorder struct{ net.Conn }

func (writeRecorder) Write(p []byte) (int, error) { return len(p), nil }

func TestTapSkipsMessageContent(t *testing.T) {
	c := &tapConn{Conn: writeRecorder{}}
	c.feed([]byte("EHLO x\r\nMAIL FROM:<a@b> RET=HDRS\r\nRCPT TO:<c@d> NOTI"))
	c.feed([]byte("FY=NEVER\r\nDATA\r\n"))
	_, _ = c.Write([]byte("354 go ahead\r\n"))
	c.feed([]byte("MAIL FROM:<inside@body>\r\n..\r\nRCPT TO:<also@body>\r\n"))
	c.feed([]byte(".\r\nMAIL FROM:<e@f>\r\n"))
	want := []string{"MAIL FROM:<a@b> RET=HDRS", "RCPT TO:<c@d> NOTIFY=NEVER", "MAIL FROM:<e@f>"}
	if strings.Join(c.cmds, "|") != strings.Join(want, "|") {
		t.Fatalf("recorded %q, want %q", c.cmds, want)
	}
	if got := c.claim("RCPT TO:"); got != want[1] {
		t.Errorf("claim RCPT = %q", got)
	}
	if got := c.claim("MAIL FROM:"); got != want[2] {
		t.Errorf("claim MAIL = %q (the unclaimed first MAIL must be dropped)", got)
	}
}
