package harness

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// CheckPostfix reports why this machine cannot run a throwaway Postfix instance, or nil.
func CheckPostfix() error {
	var missing []string
	for _, c := range []string{"postfix", "postconf", "postmap", "postqueue", "postsuper"} {
		if _, err := exec.LookPath(c); err != nil {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("postfix is not installed (no %s in PATH): run `make deps` as root", strings.Join(missing, ", "))
	}
	if os.Geteuid() != 0 {
		return errors.New("a throwaway postfix instance needs root (its master starts daemons as the postfix user): run the tests as root")
	}
	if _, _, _, err := postfixIDs(); err != nil {
		return fmt.Errorf("%w: run `make deps` as root", err)
	}
	return nil
}

// RequirePostfix skips the test when Postfix cannot run here, or fails it when the environment
// variable EDGEREWRITE_REQUIRE_POSTFIX=1 (as `make test` sets it) says it must.
func RequirePostfix(t testing.TB) {
	t.Helper()
	err := CheckPostfix()
	if err == nil {
		return
	}
	if os.Getenv("EDGEREWRITE_REQUIRE_POSTFIX") == "1" {
		t.Fatalf("%v (EDGEREWRITE_REQUIRE_POSTFIX=1: end-to-end tests must run; `make deps` installs Postfix)", err)
	}
	t.Skipf("skipping end-to-end test: %v (set EDGEREWRITE_REQUIRE_POSTFIX=1 to make this a failure)", err)
}

// postfixIDs returns the uid and gid of mail_owner "postfix" and the gid of setgid_group
// "postdrop", as Debian's package creates them.
func postfixIDs() (uid, gid, postdrop int, err error) {
	u, err := user.Lookup("postfix")
	if err != nil {
		return 0, 0, 0, fmt.Errorf("postfix user: %w", err)
	}
	g, err := user.LookupGroup("postdrop")
	if err != nil {
		return 0, 0, 0, fmt.Errorf("postdrop group: %w", err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	postdrop, _ = strconv.Atoi(g.Gid)
	return uid, gid, postdrop, nil
}

// postconf returns the value of one parameter of the instance in confDir.
func postconf(confDir, param string) (string, error) {
	out, err := exec.Command("postconf", "-c", confDir, "-h", param).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, bytes.TrimSpace(ee.Stderr))
		}
		return "", fmt.Errorf("postconf -c %s -h %s: %w", confDir, param, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on now. It picks at random below
// the kernel's ephemeral range (32768 and up on Linux), so that outgoing connections, which take
// ephemeral ports, cannot grab it before the caller binds it, and parallel instances rarely pick
// the same one. Callers must still cope with losing a race (StartPostfix retries).
func FreePort() (int, error) {
	for range 100 {
		port := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		l.Close()
		return port, nil
	}
	return 0, errors.New("no free TCP port on 127.0.0.1 in 20000-31999 after 100 tries")
}

// waitGreeting waits until addr answers an SMTP 220 greeting that names the instance id, then
// says QUIT. It gives up at deadline or as soon as exited is closed (the master died: a port
// was taken, or bad config).
func waitGreeting(addr, id string, deadline time.Time, exited <-chan struct{}) error {
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("postfix master exited before its listener accepted (port taken or bad configuration)")
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			lastErr = err
			time.Sleep(20 * time.Millisecond)
			continue
		}
		err = greet(c, id, deadline)
		c.Close()
		if err == nil {
			return nil
		}
		lastErr = err
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("no SMTP greeting before the deadline: %w", lastErr)
}

func greet(c net.Conn, id string, deadline time.Time) error {
	_ = c.SetDeadline(deadline)
	r := bufio.NewReader(c)
	rep, err := readReply(r)
	if err != nil {
		return err
	}
	if rep.Code != 220 || !strings.Contains(rep.Text, id) {
		return fmt.Errorf("greeting %q is not this instance's (%s)", rep.String(), id)
	}
	if _, err := c.Write([]byte("QUIT\r\n")); err != nil {
		return err
	}
	_, err = readReply(r)
	return err
}

// waitGroupGone waits until no live (non-zombie) process is in process group pgid.
func waitGroupGone(pgid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if !groupAlive(pgid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// groupAlive reports whether /proc lists a process of group pgid that is not a zombie. Zombies
// are left out: the master's children are reparented to PID 1 when it exits, and how fast PID 1
// reaps them is not ours to wait for.
func groupAlive(pgid int) bool {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			return true
		}
	}
	return false
}
