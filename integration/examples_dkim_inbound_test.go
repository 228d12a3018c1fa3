package integration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// fabrikamSigner is an outside sender's DKIM key (fabrikam.example, selector s2026), made with
// opendkim-genkey; messages are signed with opendkim-testmsg and verified with `opendkim -t`
// against the public key as TestDNSData (no DNS).
type fabrikamSigner struct {
	key string
	dk  *openDKIM // only its dir and testDNS are used, for verify
}

func newFabrikamSigner(t *testing.T) *fabrikamSigner {
	t.Helper()
	for _, tool := range []string{"opendkim-genkey", "opendkim-testmsg", "opendkim"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (`make deps` installs opendkim and opendkim-tools): %v", tool, err)
		}
	}
	dir := openTempDir(t)
	if out, err := exec.Command("opendkim-genkey", "-b", "2048", "-d", "fabrikam.example", "-s", "s2026", "-D", dir).CombinedOutput(); err != nil {
		t.Fatalf("opendkim-genkey: %v\n%s", err, out)
	}
	txt, err := os.ReadFile(filepath.Join(dir, "s2026.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// opendkim-testmsg signs with rsa-sha1 and has no option for another algorithm; the key
	// record must then not restrict its hashes to sha256 (h=, RFC 6376 §3.6.1).
	rec := strings.Replace(txtRecord(string(txt)), "h=sha256; ", "", 1)
	testDNS := filepath.Join(dir, "testdns")
	if err := os.WriteFile(testDNS, []byte("s2026._domainkey.fabrikam.example "+rec+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &fabrikamSigner{key: filepath.Join(dir, "s2026.private"), dk: &openDKIM{dir: dir, testDNS: testDNS}}
}

// sign returns msg (CRLF lines) with a DKIM-Signature over all its header fields.
func (s *fabrikamSigner) sign(t *testing.T, msg []byte) []byte {
	t.Helper()
	cmd := exec.Command("opendkim-testmsg", "-C", "-d", "fabrikam.example", "-k", s.key, "-s", "s2026", "-t", s.dk.dir)
	cmd.Stdin = bytes.NewReader(msg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("opendkim-testmsg: %v\n%s", err, stderr.String())
	}
	return out
}

// verified reports whether the fabrikam.example signature of msg verifies, with what
// opendkim printed.
func (s *fabrikamSigner) verified(t *testing.T, msg []byte) (bool, string) {
	t.Helper()
	out := s.dk.verify(t, msg)
	return strings.Contains(out, "s=s2026, d=fabrikam.example") && strings.Contains(out, ") succeeded"), out
}

// TestExampleDKIMInboundSigned runs postfix-examples/dkim (without its OpenDKIM, which only
// signs outbound mail) with mail from the Internet signed by its sender: the envelope recipient
// is rewritten so the message reaches tenant A, and To and Cc, which the signature covers, are
// left as they are so that the signature still verifies at the tenant; with
// inbound_header_rewrite = "always" they are rewritten and the signature breaks.
func TestExampleDKIMInboundSigned(t *testing.T) {
	signer := newFabrikamSigner(t)
	noOpenDKIM := map[string]string{"unix:edgerewrite/edgerewrite.sock, inet:127.0.0.1:8891": "unix:edgerewrite/edgerewrite.sock"}
	data := signer.sign(t, harness.BuildMessage([]string{
		"From: Bob <bob@fabrikam.example>",
		`To: "John Smith" <john@contoso.com>`,
		"Cc: anna@sales.contoso.com",
		"Subject: signed before the gateway",
		"Date: Mon, 23 Nov 2026 10:00:00 +0000",
		"Message-ID: <signed-1@fabrikam.example>",
	}, "Hello from fabrikam.\n"))
	if ok, out := signer.verified(t, data); !ok {
		t.Fatalf("the message does not verify before it is sent:\n%s", out)
	}
	send := func(ex *example) *harness.Message {
		t.Helper()
		ex.mustSend("203.0.113.25:smtp", ex.fromInternet(harness.Envelope{
			From: "bob@fabrikam.example", Rcpts: harness.Rcpts("john@contoso.com", "anna@sales.contoso.com"), Data: data,
		}))
		return waitFor(t, ex.internet, 1, deliveryTimeout)[0]
	}

	t.Run("default: envelope rewritten, signed To and Cc kept, signature verifies", func(t *testing.T) {
		ex := startExample(t, exampleOptions{Folder: "dkim", CA: newExampleCA(t), GatewayNames: []string{"mx1.contoso.com"},
			Substitute: noOpenDKIM})
		m := send(ex)
		wantRcpts(t, m.RcptAddrs(), "john@tenanta.contoso.com", "anna@sales.tenanta.contoso.com")
		h := header(t, m)
		wantField(t, h, "To", `"John Smith" <john@contoso.com>`)
		wantField(t, h, "Cc", "anna@sales.contoso.com")
		wantUntouched(t, data, h, nil)
		if ok, out := signer.verified(t, m.Data); !ok {
			t.Errorf("the sender's signature no longer verifies at the tenant:\n%s", out)
		}
		ex.waitMetric(`edgerewrite_rewrites_withheld_total{reason="dkim-signed"}`, "2")
	})

	t.Run("always: To and Cc rewritten, which breaks the signature", func(t *testing.T) {
		subst := map[string]string{"rewrite_outbound_to_cc = true": "rewrite_outbound_to_cc = true\ninbound_header_rewrite = \"always\""}
		for k, v := range noOpenDKIM {
			subst[k] = v
		}
		ex := startExample(t, exampleOptions{Folder: "dkim", CA: newExampleCA(t), GatewayNames: []string{"mx1.contoso.com"},
			Substitute: subst})
		m := send(ex)
		wantRcpts(t, m.RcptAddrs(), "john@tenanta.contoso.com", "anna@sales.tenanta.contoso.com")
		h := header(t, m)
		wantField(t, h, "To", `"John Smith" <john@tenanta.contoso.com>`)
		wantField(t, h, "Cc", "anna@sales.tenanta.contoso.com")
		wantUntouched(t, data, h, []string{"To", "Cc"})
		if ok, out := signer.verified(t, m.Data); ok {
			t.Errorf("the signature still verifies although To and Cc were rewritten:\n%s", out)
		}
	})
}

// TestExampleDKIMLongLine runs postfix-examples/dkim with a To line of 26 long addresses just
// under 998 octets that the rewrite makes longer: it arrives folded after a comma, every
// address whole, no line over 998 octets, and the signature OpenDKIM made after edgerewrite
// verifies. Unfolded, Postfix's SMTP client would break the line at octet 998, in the middle
// of an address, after OpenDKIM had signed it.
func TestExampleDKIMLongLine(t *testing.T) {
	harness.RequirePostfix(t)
	ex, dk := startDKIMExample(t)
	// A department of tenant A whose addresses leave under a longer name.
	rule := "t.tenanta.contoso.com  tenant-a-long-department-name.contoso.com  outbound-only\n"
	if err := os.WriteFile(filepath.Join(ex.rulesDir, "department.rules"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	// systemctl reload edgerewrite: the file watcher may not be watching yet this soon after
	// the start.
	if err := ex.er.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	ex.waitMetric("edgerewrite_rules_loaded", "3")

	var before, after []string
	for i := 1; i <= 26; i++ {
		before = append(before, fmt.Sprintf("user%02d.longer1@t.tenanta.contoso.com", i))
		after = append(after, fmt.Sprintf("user%02d.longer1@tenant-a-long-department-name.contoso.com", i))
	}
	to := "To: " + strings.Join(before, ", ")
	if len(to) < 980 || len(to) > 998 {
		t.Fatalf("the To line is %d octets; the case wants just under 998", len(to))
	}
	data := harness.BuildMessage([]string{
		`From: "John Smith" <john@tenanta.contoso.com>`,
		to,
		"Subject: to the whole department",
		"Date: Mon, 23 Nov 2026 10:00:00 +0000",
		"Message-ID: <long-1@tenanta.contoso.com>",
	}, "Hello, everyone.\n")
	ex.mustSend("203.0.113.26:smtp", ex.fromExchangeOnline(harness.Envelope{
		From: "john@tenanta.contoso.com", Rcpts: harness.Rcpts("partner@fabrikam.example"), Data: data,
	}))
	m := waitFor(t, ex.internet, 1, deliveryTimeout)[0]
	head, _, _ := bytes.Cut(m.Data, []byte("\r\n\r\n"))
	for i, l := range strings.Split(string(head), "\r\n") {
		if len(l) > 998 {
			t.Errorf("header line %d is %d octets: %.80q...", i+1, len(l), l)
		}
	}
	h := header(t, m)
	f, ok := h.Field("To", 1)
	if !ok {
		t.Fatalf("no To field in:\n%s", head)
	}
	if !strings.Contains(f.Value, "\n") {
		t.Errorf("To is not folded: %.120q...", f.Value)
	}
	if got := strings.Split(strings.TrimSpace(harness.Unfold(f.Value)), ", "); strings.Join(got, ",") != strings.Join(after, ",") {
		t.Errorf("To addresses:\n got %q\nwant %q", got, after)
	}
	if out := dk.verify(t, m.Data); !strings.Contains(out, "s=gw2026, d=contoso.com") || !strings.Contains(out, ") succeeded") {
		t.Errorf("the signature OpenDKIM made after edgerewrite does not verify:\n%s", out)
	}
}
