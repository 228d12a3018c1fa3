package daemon

import (
	"context"
	"encoding/binary"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// daemon is a Run in progress on a temporary config, rules directory and unix socket.
type daemon struct {
	dir, sock, rules string
	milter, metrics  net.Addr
	log              *logSink
	done             chan struct{} // closed when Run returned, with err set
	err              error
	cancel           context.CancelFunc

	mu       sync.Mutex
	notified []string
}

func (d *daemon) notify(state string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.notified = append(d.notified, state)
}

func (d *daemon) notifications() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.notified)
}

// startDaemon runs Run with extra config lines (after listen, rules_dir, metrics_listen and
// socket_mode) and rules; it returns once the daemon serves.
func startDaemon(t *testing.T, extra string, rules map[string]string) *daemon {
	t.Helper()
	// A short directory: unix socket paths are limited to 107 bytes.
	dir, err := os.MkdirTemp("", "er-daemon")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	d := &daemon{dir: dir, sock: filepath.Join(dir, "milter.sock"), rules: filepath.Join(dir, "rules"), log: &logSink{},
		done: make(chan struct{})}
	if err := os.Mkdir(d.rules, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range rules {
		writeTestFile(t, filepath.Join(d.rules, name), content)
	}
	cfg := filepath.Join(dir, "edgerewrite.toml")
	writeTestFile(t, cfg, "listen = \"unix:milter.sock\"\nsocket_mode = \"0600\"\nrules_dir = \"rules\"\n"+
		"metrics_listen = \"127.0.0.1:0\"\n"+extra)
	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	go func() {
		defer close(d.done)
		d.err = Run(ctx, RunOptions{ConfigPath: cfg, LogOutput: d.log, Notify: d.notify, DrainTimeout: 2 * time.Second,
			Ready: func(m, h net.Addr) { d.milter, d.metrics = m, h; close(ready) }})
	}()
	select {
	case <-ready:
	case <-d.done:
		t.Fatalf("Run: %v\n%s", d.err, d.log)
	case <-time.After(5 * time.Second):
		t.Fatalf("daemon not ready\n%s", d.log)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-d.done:
		case <-time.After(5 * time.Second):
			t.Error("daemon did not stop")
		}
	})
	return d
}

func (d *daemon) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + d.metrics.String() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// optneg sends SMFIC_OPTNEG (milter protocol version 6, every action and step offered) and
// returns the command byte of the reply: 'O' from a milter.
func optneg(t *testing.T, sock string) byte {
	t.Helper()
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	pkt := []byte{0, 0, 0, 13, 'O', 0, 0, 0, 6, 0, 0, 0x01, 0xff, 0, 0x1f, 0xff, 0xff}
	if _, err := c.Write(pkt); err != nil {
		t.Fatal(err)
	}
	var hdr [5]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		t.Fatal(err)
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n < 13 {
		t.Errorf("SMFIC_OPTNEG reply of %d bytes", n)
	}
	if _, err := io.CopyN(io.Discard, c, int64(n)-1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte{0, 0, 0, 1, 'Q'}); err != nil { // SMFIC_QUIT
		t.Fatal(err)
	}
	return hdr[4]
}

func TestRunServesReloadsAndStops(t *testing.T) {
	d := startDaemon(t, "", map[string]string{"a.rules": ruleJohn})

	if _, err := os.Lstat(d.sock + ".new"); !os.IsNotExist(err) {
		t.Errorf("the socket's temporary name is left: %v", err)
	}
	st, err := os.Stat(d.sock)
	if err != nil || st.Mode().Type() != fs.ModeSocket || st.Mode().Perm() != 0o600 {
		t.Fatalf("socket %s: %v %v, want a socket with mode 0600", d.sock, st.Mode(), err)
	}
	if got := optneg(t, d.sock); got != 'O' {
		t.Errorf("SMFIC_OPTNEG answered with %q, want 'O'", got)
	}
	if code, body := d.get(t, "/healthz"); code != 200 || !strings.HasPrefix(body, "ok\ngeneration: 1\nrules: 1\n") {
		t.Errorf("/healthz = %d %q", code, body)
	}
	_, body := d.get(t, "/metrics")
	for _, want := range []string{"edgerewrite_rules_loaded 1", "edgerewrite_config_last_reload_successful 1",
		"go_goroutines", "process_open_fds", "edgerewrite_sessions_active"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if n := d.notifications(); len(n) == 0 || !strings.HasPrefix(n[0], "READY=1\n") {
		t.Errorf("first notification %q, want READY=1", n)
	}

	// A new rule file is in service within a second of settling.
	writeTestFile(t, filepath.Join(d.rules, "b.rules"), ruleMary)
	pollUntil(t, "new rule counted", DefaultSettle+time.Second, func() bool {
		_, body := d.get(t, "/metrics")
		return strings.Contains(body, "edgerewrite_rules_loaded 2")
	})

	// SIGHUP reloads between RELOADING=1 and READY=1.
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, "SIGHUP reload", 2*time.Second, func() bool {
		n := d.notifications()
		for i, s := range n {
			if strings.HasPrefix(s, "RELOADING=1\nMONOTONIC_USEC=") && i+1 < len(n) && strings.HasPrefix(n[i+1], "READY=1") {
				return true
			}
		}
		return false
	})

	d.cancel()
	select {
	case <-d.done:
		if d.err != nil {
			t.Errorf("Run after SIGTERM: %v, want nil (exit 0)", d.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("daemon did not stop")
	}
	t.Logf("log:\n%s", d.log)
	if n := d.notifications(); !slices.Contains(n, "STOPPING=1") {
		t.Errorf("no STOPPING=1 in %q", n)
	}
	if _, err := os.Stat(d.sock); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}

func TestRunRefusesBadRules(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "edgerewrite.toml"), "listen = \"inet:127.0.0.1:0\"\nmetrics_listen = \"\"\nrules_dir = \".\"\n")
	writeTestFile(t, filepath.Join(dir, "a.rules"), ruleJohn+"broken\n"+ruleMary+"x@y z@w extra-option\n")
	err := Run(context.Background(), RunOptions{ConfigPath: filepath.Join(dir, "edgerewrite.toml"), LogOutput: io.Discard})
	if err == nil {
		t.Fatal("Run started with broken rules")
	}
	for _, want := range []string{"a.rules:2:", "a.rules:4:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "edgerewrite.toml")
	writeTestFile(t, path, "rules_dir = \".\"\nlog_format = \"xml\"\nlisten = \"inet:0.0.0.0:1\"\n")
	err := Run(context.Background(), RunOptions{ConfigPath: path, LogOutput: io.Discard})
	if err == nil || !strings.Contains(err.Error(), path+":2:") || !strings.Contains(err.Error(), path+":3:") {
		t.Errorf("Run with a bad config: %v", err)
	}
}

func TestRemoveStaleSocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "er-sock")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "s.sock")

	// A socket file whose process is gone is removed.
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if err := removeStaleSocket(sock); err != nil {
		t.Errorf("stale socket: %v", err)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("stale socket still there: %v", err)
	}

	// A live socket is not taken over.
	l2, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	if err := removeStaleSocket(sock); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("live socket: %v", err)
	}
	l2.Close()

	// Nor is a regular file.
	writeTestFile(t, sock, "data")
	if err := removeStaleSocket(sock); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("regular file: %v", err)
	}
}
