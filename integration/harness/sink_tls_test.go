package harness

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTLSSink sends through STARTTLS to a TLS sink (no Postfix): the sink records the client
// certificate's common name only when it chains to the sink's CA, whatever its key usage, and
// rebuilds the ESMTP parameters the tap cannot read inside TLS as they were sent.
func TestTLSSink(t *testing.T) {
	ca, err := NewCA(t.TempDir(), "sink test CA")
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewCA(t.TempDir(), "another CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(l *Leaf, err error) *Leaf {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	tenant := leaf(ca.Client("tenanta", "tenanta.contoso.com"))
	gateway := leaf(ca.Server("gateway", "mx1.contoso.com")) // server usage only, as Postfix may present
	stranger := leaf(other.Client("stranger", "tenantb.contoso.com"))
	sink := NewTLSSink(t, "tenant A", ca)
	if _, err := os.Stat(filepath.Join(ca.Dir, "sink-tenant-A.crt")); err != nil {
		t.Errorf("server certificate file: %v", err)
	}
	if !strings.HasPrefix(sink.Nexthop(), "[localhost]:") || !strings.HasSuffix(sink.Addr(), sink.Nexthop()[len("[localhost]"):]) {
		t.Errorf("Nexthop %q for %s", sink.Nexthop(), sink.Addr())
	}
	tests := []struct {
		name   string
		tls    *tls.Config
		wantCN string
	}{
		{"client certificate from the CA", ca.ClientTLS(tenant, "localhost"), "tenanta.contoso.com"},
		{"server certificate from the CA", ca.ClientTLS(gateway, "localhost"), "mx1.contoso.com"},
		{"certificate of another CA", ca.ClientTLS(stranger, "localhost"), ""},
		{"no client certificate", ca.ClientTLS(nil, "localhost"), ""},
		{"no STARTTLS", nil, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink.Reset()
			MustSend(t, sink.Addr(), Envelope{
				From: "john@contoso.com", RET: "HDRS", ENVID: "id+2B" + tt.name[:2], TLS: tt.tls,
				Rcpts: []RcptTo{{Addr: "b@example.net", Notify: "SUCCESS,FAILURE", ORCPT: "rfc822;b+2Bx@contoso.com"}},
				Data:  BuildMessage([]string{"From: john@contoso.com", "Subject: " + tt.name}, "x\n"),
			})
			msgs, err := sink.WaitFor(1, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			m := msgs[0]
			if m.ClientCN != tt.wantCN {
				t.Errorf("ClientCN %q, want %q", m.ClientCN, tt.wantCN)
			}
			if m.RET() != "HDRS" || m.ENVID() != "id+2B"+tt.name[:2] {
				t.Errorf("MAIL params %q", m.MailParams)
			}
			if r := m.Rcpts[0]; r.Notify() != "SUCCESS,FAILURE" || r.ORCPT() != "rfc822;b+2Bx@contoso.com" {
				t.Errorf("RCPT params %q", r.Params)
			}
			if (tt.tls != nil) != (m.MailLine == "") {
				t.Errorf("MailLine %q with TLS %v", m.MailLine, tt.tls != nil)
			}
			if f, _ := m.Header().Field("Subject", 1); f.Text() != tt.name {
				t.Errorf("message %d: Subject %q", i, f.Text())
			}
		})
	}
	if _, err := sink.WaitFor(2, 10*time.Millisecond); err == nil || !strings.Contains(err.Error(), "sink tenant A:") {
		t.Errorf("WaitFor error %v, want it to name the sink", err)
	}
}

func TestXtext(t *testing.T) {
	for in, want := range map[string]string{
		"demo-1":           "demo-1",
		"a+b=c":            "a+2Bb+3Dc",
		"sp ace\x7f":       "sp+20ace+7F",
		"j\u00f6rg@x.test": "j+C3+B6rg@x.test",
	} {
		if got := xtext(in); got != want {
			t.Errorf("xtext(%q) = %q, want %q", in, got, want)
		}
	}
}
