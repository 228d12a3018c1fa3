package integration

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// TestExampleDKIM runs postfix-examples/dkim: edgerewrite rewrites, then Debian's OpenDKIM
// signs for contoso.com, and the signature verifies on what the sink received.
func TestExampleDKIM(t *testing.T) {
	harness.RequirePostfix(t)
	if _, err := exec.LookPath("opendkim"); err != nil {
		t.Fatalf("opendkim is not installed (`make deps` installs opendkim and opendkim-tools): %v", err)
	}
	ex, dk := startDKIMExample(t)

	t.Run("tenant A's message leaves rewritten and signed for contoso.com", func(t *testing.T) {
		ex.internet.Reset()
		data := harness.BuildMessage([]string{
			"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=tenanta.contoso.com; s=selector1; h=From:To:Subject; bh=AAAA; b=AAAA",
			`From: "John Smith" <john@tenanta.contoso.com>`,
			"To: partner@fabrikam.example",
			"Subject: signed for the shared domain",
			"Date: Mon, 23 Nov 2026 10:00:00 +0000",
			"Message-ID: <dkim-1@tenanta.contoso.com>",
		}, "Hello from the shared domain.\n")
		ex.mustSend("203.0.113.26:smtp", ex.fromExchangeOnline(harness.Envelope{
			From: "john@tenanta.contoso.com", Rcpts: harness.Rcpts("partner@fabrikam.example"), Data: data,
		}))
		msgs, err := ex.internet.WaitFor(1, deliveryTimeout)
		if err != nil {
			t.Fatal(err)
		}
		m := msgs[0]
		h := m.Header()
		wantField(t, h, "From", `"John Smith" <john@contoso.com>`)
		var ours string
		for _, v := range h.Values("DKIM-Signature") {
			if strings.Contains(harness.Unfold(v), "d=contoso.com;") {
				ours = v
			}
		}
		if ours == "" || !strings.Contains(harness.Unfold(ours), "s=gw2026;") {
			t.Fatalf("no DKIM-Signature for d=contoso.com s=gw2026 in:\n%s", h.Bytes())
		}
		wantUntouched(t, data, h, []string{"From", "DKIM-Signature"}, "Authentication-Results")
		if eop := h.Values("DKIM-Signature"); len(eop) != 2 || !strings.Contains(strings.Join(eop, ""), "d=tenanta.contoso.com; s=selector1;") {
			t.Errorf("want Exchange Online's signature kept beside the new one, got %q", eop)
		}
		if out := dk.verify(t, m.Data); !strings.Contains(out, "s=gw2026, d=contoso.com") || !strings.Contains(out, ") succeeded") {
			t.Errorf("opendkim did not verify the contoso.com signature:\n%s", out)
		}
	})

	t.Run("meeting invitations and responses leave with their calendar rewritten and signed", func(t *testing.T) {
		calendarThroughDKIM(t, ex, dk)
	})

	t.Run("mail from the Internet is not signed by the gateway", func(t *testing.T) {
		ex.internet.Reset()
		ex.mustSend("203.0.113.25:smtp", ex.fromInternet(harness.Envelope{
			From: "partner@fabrikam.example", Rcpts: harness.Rcpts("john@contoso.com"),
			Data: harness.BuildMessage([]string{"From: partner@fabrikam.example", "To: john@contoso.com", "Subject: reply"}, "x\n"),
		}))
		msgs, err := ex.internet.WaitFor(1, deliveryTimeout)
		if err != nil {
			t.Fatal(err)
		}
		if s := msgs[0].Header().Values("DKIM-Signature"); len(s) > 0 {
			t.Errorf("inbound mail was signed: %q", s)
		}
		wantRcpts(t, msgs[0].RcptAddrs(), "john@tenanta.contoso.com")
	})
}

// startDKIMExample starts postfix-examples/dkim with OpenDKIM on a free port in place of the
// folder's 8891.
func startDKIMExample(t *testing.T) (*example, *openDKIM) {
	t.Helper()
	port, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dk := startOpenDKIM(t, port)
	ex := startExample(t, exampleOptions{
		Folder:       "dkim",
		CA:           newExampleCA(t),
		GatewayNames: []string{"mx1.contoso.com"},
		Substitute:   map[string]string{"inet:127.0.0.1:8891": fmt.Sprintf("inet:127.0.0.1:%d", port)},
	})
	return ex, dk
}

// openDKIM is Debian's opendkim running the folder's opendkim.conf with a fresh key.
type openDKIM struct {
	dir     string
	testDNS string // the public key as a TestDNSData file
}

// startOpenDKIM makes the key with opendkim-genkey, writes the folder's opendkim.conf,
// KeyTable and SigningTable with their paths and port substituted, and runs opendkim in the
// foreground until the test ends.
func startOpenDKIM(t *testing.T, port int) *openDKIM {
	t.Helper()
	src := exampleDir(t, "dkim")
	dk := &openDKIM{dir: openTempDir(t)}
	u, err := user.Lookup("opendkim")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	// OpenDKIM refuses a key whose directories others may write (RequireSafeKeys), and /tmp is
	// such a directory: the key lives below /var/lib for the test.
	keyRoot, err := os.MkdirTemp("/var/lib", "edgerewrite-dkim-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(keyRoot) })
	if err := os.Chmod(keyRoot, 0o755); err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(keyRoot, "keys", "contoso.com")
	run := filepath.Join(dk.dir, "run")
	for _, d := range []string{keys, run} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(run, uid, gid); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("opendkim-genkey", "-b", "2048", "-d", "contoso.com", "-s", "gw2026", "-D", keys).CombinedOutput(); err != nil {
		t.Fatalf("opendkim-genkey: %v\n%s", err, out)
	}
	if err := os.Chown(filepath.Join(keys, "gw2026.private"), uid, gid); err != nil {
		t.Fatal(err)
	}
	subst := strings.NewReplacer("/etc/opendkim/keys/", keyRoot+"/keys/", "/etc/opendkim/", dk.dir+"/", "/run/opendkim/", run+"/",
		"inet:8891@127.0.0.1", fmt.Sprintf("inet:%d@127.0.0.1", port))
	for _, f := range []struct{ from, to string }{
		{"opendkim.conf", "opendkim.conf"}, {"opendkim/KeyTable", "KeyTable"}, {"opendkim/SigningTable", "SigningTable"},
	} {
		b, err := os.ReadFile(filepath.Join(src, f.from))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dk.dir, f.to), []byte(subst.Replace(string(b))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	txt, err := os.ReadFile(filepath.Join(keys, "gw2026.txt"))
	if err != nil {
		t.Fatal(err)
	}
	dk.testDNS = filepath.Join(dk.dir, "testdns")
	if err := os.WriteFile(dk.testDNS, []byte("gw2026._domainkey.contoso.com "+txtRecord(string(txt))+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runHelperDaemon(t, "opendkim", filepath.Join(dk.dir, "opendkim.log"),
		exec.Command("opendkim", "-f", "-x", filepath.Join(dk.dir, "opendkim.conf")), port)
	return dk
}

// runHelperDaemon runs cmd (a daemon in the foreground: OpenDKIM, postsrsd) until the test
// ends, its output in logPath (shown when the test failed), and waits until it listens on
// every port of 127.0.0.1 given. It fails the test if the daemon exits or does not listen
// within 10 s.
func runHelperDaemon(t *testing.T, name, logPath string, cmd *exec.Cmd, ports ...int) {
	t.Helper()
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("%s output:\n%s", name, b)
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		log.Close()
	})
	deadline := time.Now().Add(10 * time.Second)
	for _, port := range ports {
		for {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-done:
				b, _ := os.ReadFile(logPath)
				t.Fatalf("%s exited at start:\n%s", name, b)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s does not listen on %d after 10 s", name, port)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

var quotedRE = regexp.MustCompile(`"([^"]*)"`)

// txtRecord joins the quoted strings of opendkim-genkey's zone file line into the TXT value.
func txtRecord(zoneLine string) string {
	var b strings.Builder
	for _, m := range quotedRE.FindAllStringSubmatch(zoneLine, -1) {
		b.WriteString(m[1])
	}
	return b.String()
}

// verify runs `opendkim -t` on the message with the public key from TestDNSData (no DNS) and
// returns what it printed.
func (dk *openDKIM) verify(t *testing.T, msg []byte) string {
	t.Helper()
	file := filepath.Join(dk.dir, fmt.Sprintf("received-%d.eml", time.Now().UnixNano()))
	if err := os.WriteFile(file, msg, 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dk.dir, "verify.conf")
	if err := os.WriteFile(conf, []byte("Mode v\nTestDNSData file:"+dk.testDNS+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("opendkim", "-x", conf, "-t", file).CombinedOutput()
	if err != nil {
		t.Errorf("opendkim -t: %v", err)
	}
	return string(out)
}
