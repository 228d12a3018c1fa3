package daemon

import (
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rawMilterConn negotiates on the daemon's socket like an MTA offering every action and step,
// and returns the connection and the actions the milter asked for.
func rawMilterConn(t *testing.T, sock string) (net.Conn, uint32) {
	t.Helper()
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte{0, 0, 0, 13, 'O', 0, 0, 0, 6, 0, 0, 0x01, 0xff, 0, 0x1f, 0xff, 0xff}); err != nil {
		t.Fatal(err)
	}
	cmd, data := readRawPacket(t, c)
	if cmd != 'O' || len(data) < 12 {
		t.Fatalf("SMFIC_OPTNEG answered %q %q", cmd, data)
	}
	return c, binary.BigEndian.Uint32(data[4:8])
}

func readRawPacket(t *testing.T, c net.Conn) (byte, []byte) {
	t.Helper()
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(c, p); err != nil {
		t.Fatal(err)
	}
	return p[0], p[1:]
}

// TestRunSaturated fills max_connections: a further connection is answered with a temporary
// failure at once, /healthz and /metrics keep answering, and a connection freed is served
// again.
func TestRunSaturated(t *testing.T) {
	d := startDaemon(t, "[limits]\nmax_connections = 2\n", map[string]string{"a.rules": ruleJohn})
	var held []net.Conn
	for range 2 {
		c, actions := rawMilterConn(t, d.sock)
		if actions == 0 {
			t.Fatal("a connection within max_connections was not served")
		}
		held = append(held, c)
	}
	over, actions := rawMilterConn(t, d.sock)
	if actions != 0 {
		t.Errorf("over max_connections: the milter asked for actions %#x, want none", actions)
	}
	connect := []byte{0, 0, 0, 13, 'C', 'h', 'o', 's', 't', 0, '4', 0, 25, '1', '.', '2', '.', '3', 0}
	binary.BigEndian.PutUint32(connect, uint32(len(connect)-4))
	if _, err := over.Write(connect); err != nil {
		t.Fatal(err)
	}
	if cmd, _ := readRawPacket(t, over); cmd != 't' {
		t.Errorf("over max_connections: SMFIC_CONNECT answered %q, want SMFIR_TEMPFAIL", cmd)
	}
	for _, path := range []string{"/healthz", "/metrics"} {
		start := time.Now()
		code, body := d.get(t, path)
		if code != 200 || time.Since(start) > time.Second {
			t.Errorf("%s while saturated: %d after %s", path, code, time.Since(start))
		}
		if path == "/metrics" && !strings.Contains(body, `edgerewrite_limit_hits_total{limit="max_connections"} 1`) {
			t.Errorf("/metrics does not count the connection refused")
		}
	}
	held[0].Close()
	pollUntil(t, "a freed connection served again", 5*time.Second, func() bool {
		c, actions := rawMilterConn(t, d.sock)
		c.Close()
		return actions != 0
	})
}

// TestSocketAttrsNoFollow: the socket's mode and group are set on the socket itself; a
// symlink in its place (to a file the daemon may write) is refused and its target untouched.
func TestSocketAttrsNoFollow(t *testing.T) {
	dir, err := os.MkdirTemp("", "er-sock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	target := filepath.Join(dir, "secret")
	if err := os.WriteFile(target, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.sock")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		ok   bool
	}{{sock, true}, {link, false}} {
		err := chmodChownNoFollow(tc.path, 0o640, os.Getgid())
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%t", tc.path, err, tc.ok)
		}
	}
	if st, err := os.Lstat(sock); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("socket mode %v %v, want 0640", st.Mode(), err)
	}
	if st, err := os.Stat(target); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the symlink's target became %v %v; it must stay 0600", st.Mode(), err)
	}
}

// TestReloadProblemsBounded: a rules file of 100,000 duplicate lines logs a bounded number of
// lines per reload attempt, and the reload line still counts every problem.
func TestReloadProblemsBounded(t *testing.T) {
	e := newReloadEnv(t, map[string]string{"a.rules": ruleJohn})
	atomicWrite(t, filepath.Join(e.rulesDir, "dup.rules"), strings.Repeat(ruleMary, 100_000))
	pollUntil(t, "failed reload", 30*time.Second, func() bool {
		return e.metric(t, "edgerewrite_reloads_total", "failure") >= 1
	})
	log := e.log.String()
	if n := strings.Count(log, "reload problem"); n > 25 {
		t.Errorf("%d problem lines logged for one reload, want at most 25", n)
	}
	for _, want := range []string{"dup.rules: and 99979 more problems in this file", "problems=99999"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q", want)
		}
	}

	// The same problems again (another save of the broken file): not listed again.
	lines := strings.Count(log, "reload problem")
	atomicWrite(t, filepath.Join(e.rulesDir, "dup.rules"), strings.Repeat(ruleMary, 100_000))
	pollUntil(t, "second failed reload", 30*time.Second, func() bool {
		return e.metric(t, "edgerewrite_reloads_total", "failure") >= 2
	})
	log = e.log.String()
	if n := strings.Count(log, "reload problem") - lines; n != 1 || !strings.Contains(log, "the same problems as at the last attempt") {
		t.Errorf("the same problems again logged %d lines, want one saying they are the same", n)
	}
}
