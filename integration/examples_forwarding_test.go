package integration

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// TestExampleForwarding runs postfix-examples/forwarding: ../two-tenants with Debian's postsrsd
// beside edgerewrite. Mail a tenant user forwards (original From, original or tenant-SRS
// envelope sender) is accepted on the tenant's connector; with the original sender it leaves
// with postsrsd's SRS address, and a bounce to that address reaches the original sender; a
// From of the other tenant is still refused.
func TestExampleForwarding(t *testing.T) {
	harness.RequirePostfix(t)
	fwd, rev := freePort(t), freePort(t)
	srs := startPostsrsd(t, fwd, rev)
	ca := newExampleCA(t)
	hopA, hopB := harness.NewTLSSink(t, "tenanta", ca), harness.NewTLSSink(t, "tenantb", ca)
	ex := startExample(t, exampleOptions{
		Folder:       "forwarding",
		CA:           ca,
		Hops:         map[string]*harness.Sink{"tenanta": hopA, "tenantb": hopB},
		GatewayNames: []string{"mx1.contoso.com", "relay-tenanta.contoso.com", "relay-tenantb.contoso.com"},
		ClientCerts:  map[string]string{"tenanta": "tenanta.contoso.com", "tenantb": "tenantb.contoso.com"},
		Substitute: map[string]string{
			"tcp:127.0.0.1:10001": fmt.Sprintf("tcp:127.0.0.1:%d", fwd),
			"tcp:127.0.0.1:10002": fmt.Sprintf("tcp:127.0.0.1:%d", rev),
		},
	})
	const (
		public  = "203.0.113.25:smtp"
		tenantA = "203.0.113.26:smtp"
	)
	reset := func() { ex.internet.Reset(); hopA.Reset(); hopB.Reset() }
	forwarded := func(from string, headers ...string) harness.Envelope {
		return ex.fromExchangeOnline(harness.Envelope{From: from, Rcpts: harness.Rcpts("john.private@example.org"),
			Data: harness.BuildMessage(append(headers, "To: John <john@contoso.com>", "Subject: Invoice 42",
				"Message-ID: <fwd-1@fabrikam.example>"), "Please pay.\n")})
	}
	srsRE := regexp.MustCompile(`^SRS0=[^=@]+=[^=@]+=fabrikam\.example=bob@` + regexp.QuoteMeta(srs.domain) + `$`)
	var srsAddr string

	t.Run("forwarded with the original sender: delivered with postsrsd's SRS envelope sender", func(t *testing.T) {
		reset()
		env := forwarded("bob@fabrikam.example", "From: Bob <bob@fabrikam.example>")
		ex.mustSend(tenantA, env)
		m := waitFor(t, ex.internet, 1, deliveryTimeout)[0]
		if !srsRE.MatchString(m.From) {
			t.Fatalf("MAIL FROM <%s>, want postsrsd's SRS0 address for bob@fabrikam.example at %s", m.From, srs.domain)
		}
		srsAddr = m.From
		wantRcpts(t, m.RcptAddrs(), "john.private@example.org")
		wantField(t, m.Header(), "From", "Bob <bob@fabrikam.example>")
		wantUntouched(t, env.Data, m.Header(), nil)
	})

	t.Run("a bounce to the SRS address reaches the original sender", func(t *testing.T) {
		if srsAddr == "" {
			t.Skip("no SRS address from the forwarding case")
		}
		reset()
		ex.mustSend(public, ex.fromInternet(harness.Envelope{From: "", Rcpts: harness.Rcpts(srsAddr),
			Data: harness.BuildMessage([]string{"From: MAILER-DAEMON@mx.example.org", "To: " + srsAddr,
				"Subject: Undelivered Mail Returned to Sender"}, "john.private@example.org: mailbox full\n")}))
		m := waitFor(t, ex.internet, 1, deliveryTimeout)[0]
		wantRcpts(t, m.RcptAddrs(), "bob@fabrikam.example")
		if m.From != "" {
			t.Errorf("the bounce's sender became <%s>", m.From)
		}
		if n := len(hopA.Messages()) + len(hopB.Messages()); n > 0 {
			t.Errorf("%d messages went to a tenant", n)
		}
	})

	t.Run("forwarded with the tenant's SRS envelope sender: delivered, rewritten to the shared domain, not SRS'ed again", func(t *testing.T) {
		reset()
		const m365SRS = "john+SRS=x1Y2z=AB=fabrikam.example=bob@tenanta.contoso.com"
		ex.mustSend(tenantA, forwarded(m365SRS, "From: Bob <bob@fabrikam.example>"))
		m := waitFor(t, ex.internet, 1, deliveryTimeout)[0]
		if want := "john+SRS=x1Y2z=AB=fabrikam.example=bob@contoso.com"; m.From != want {
			t.Errorf("MAIL FROM <%s>, want <%s>", m.From, want)
		}
		wantField(t, m.Header(), "From", "Bob <bob@fabrikam.example>")

		// Its bounce goes back into tenant A, which undoes its own SRS.
		reset()
		ex.mustSend(public, ex.fromInternet(harness.Envelope{From: "", Rcpts: harness.Rcpts(m.From),
			Data: harness.BuildMessage([]string{"From: MAILER-DAEMON@mx.example.org", "Subject: Undelivered"}, "x\n")}))
		b := waitFor(t, hopA, 1, deliveryTimeout)[0]
		wantRcpts(t, b.RcptAddrs(), m365SRS)
	})

	t.Run("still refused: a From of the other tenant or the shared domain, an envelope sender in the shared domain", func(t *testing.T) {
		reset()
		for _, env := range []harness.Envelope{
			forwarded("bob@fabrikam.example", "From: Mary <mary@tenantb.contoso.com>"),
			forwarded("bob@fabrikam.example", "From: CEO <ceo@contoso.com>"),
			forwarded("ceo@contoso.com", "From: Bob <bob@fabrikam.example>"),
		} {
			wantRefused(t, ex.send(tenantA, env), 550, "5.7.1")
		}
		wantNothingAt(t, ex.internet, hopA, hopB)
	})
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// postsrsd is Debian's postsrsd running the folder's /etc/default/postsrsd settings on
// loopback ports of the test, with a secret of its own, until the test ends.
type postsrsd struct{ domain string }

// startPostsrsd reads postfix-examples/forwarding/postsrsd, makes a fresh secret and runs
// postsrsd in the foreground with those settings (as Debian's unit passes them), its ports
// replaced by fwd and rev.
func startPostsrsd(t *testing.T, fwd, rev int) *postsrsd {
	t.Helper()
	if _, err := exec.LookPath("postsrsd"); err != nil {
		t.Fatalf("postsrsd is not installed (integration/install-deps.sh installs it): %v", err)
	}
	settings := readDefaults(t, filepath.Join(exampleDir(t, "forwarding"), "postsrsd"))
	for _, k := range []string{"SRS_DOMAIN", "SRS_EXCLUDE_DOMAINS", "SRS_SEPARATOR", "SRS_FORWARD_PORT", "SRS_REVERSE_PORT", "SRS_LISTEN_ADDR"} {
		if settings[k] == "" {
			t.Fatalf("postfix-examples/forwarding/postsrsd does not set %s", k)
		}
	}
	dir := t.TempDir()
	secret := filepath.Join(dir, "postsrsd.secret")
	key := make([]byte, 18)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secret, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runHelperDaemon(t, "postsrsd", filepath.Join(dir, "postsrsd.log"),
		exec.Command("postsrsd", "-s"+secret, "-d"+settings["SRS_DOMAIN"], "-X"+settings["SRS_EXCLUDE_DOMAINS"],
			"-a"+settings["SRS_SEPARATOR"], "-l"+settings["SRS_LISTEN_ADDR"], fmt.Sprintf("-f%d", fwd), fmt.Sprintf("-r%d", rev)),
		fwd, rev)
	return &postsrsd{domain: settings["SRS_DOMAIN"]}
}

// readDefaults reads a /etc/default file's KEY=VALUE lines (no quoting is used in ours).
func readDefaults(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("%s: %q is not KEY=VALUE", path, l)
		}
		out[k] = v
	}
	return out
}
