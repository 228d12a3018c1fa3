package harness

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Postfix is a running throwaway Postfix instance. Its master runs as a child of this process in
// its own process group; a watchdog stops that group and removes the directory if this process
// dies without Stop (go test timeout, SIGKILL), so no instance outlives its test.
type Postfix struct {
	// Dir is the instance directory (0755): conf/, queue/, data/, log/.
	Dir string
	// ConfDir is the config directory given to every Postfix command as -c.
	ConfDir string
	// LogFile is maillog_file.
	LogFile string

	opts      PostfixOptions
	listeners []listener
	master    *exec.Cmd
	exited    chan struct{} // closed when master has been reaped
	watchdog  *watchdog
	stopOnce  sync.Once
	stopErr   error
}

type listener struct {
	svc  Service
	addr string // 127.0.0.1:PORT
}

// StartPostfix creates and starts an instance and waits until every smtpd listener answers with
// its 220 greeting. When the master cannot start (a chosen port was taken meanwhile) it tries
// again with new ports, up to three times.
func StartPostfix(opts PostfixOptions) (*Postfix, error) {
	if err := CheckPostfix(); err != nil {
		return nil, err
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if opts.Name == "" {
		opts.Name = "postfix"
	}
	if opts.SMTPD.Name == "" {
		opts.SMTPD.Name = "smtpd"
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 10 * time.Second
	}
	if os.Getenv("EDGEREWRITE_KEEP_POSTFIX") == "1" {
		opts.Keep = true
	}
	dir, err := os.MkdirTemp("", "edgerewrite-"+opts.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("postfix instance directory: %w", err)
	}
	p := &Postfix{Dir: dir, ConfDir: filepath.Join(dir, "conf"), LogFile: filepath.Join(dir, "log", "maillog"), opts: opts}
	if err := p.layout(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	var errs []error
	for attempt := 1; attempt <= 3; attempt++ {
		err := p.startOnce()
		if err == nil {
			return p, nil
		}
		errs = append(errs, fmt.Errorf("attempt %d: %w", attempt, err))
		p.kill()
	}
	err = fmt.Errorf("start postfix in %s: %w\n%s", dir, errors.Join(errs...), p.diagnose())
	if !opts.Keep {
		os.RemoveAll(dir)
	}
	return nil, err
}

// NewPostfix is StartPostfix for tests: it fails the test on error and stops the instance when
// the test ends, first logging the tail of the mail log if the test failed.
func NewPostfix(t testing.TB, opts PostfixOptions) *Postfix {
	t.Helper()
	RequirePostfix(t)
	p, err := StartPostfix(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("postfix %s mail log (last 60 lines):\n%s", p.Dir, tail(p.Log(), 60))
		}
		if err := p.Stop(); err != nil {
			t.Error(err)
		}
	})
	return p
}

// layout creates the instance directories with the owners Postfix wants: the queue
// subdirectories as postfix-files lists them, data/ and log/ owned by mail_owner.
func (p *Postfix) layout() error {
	if err := os.Chmod(p.Dir, 0o755); err != nil {
		return err
	}
	uid, gid, postdrop, err := postfixIDs()
	if err != nil {
		return err
	}
	type d struct {
		path     string
		mode     os.FileMode
		uid, gid int
	}
	q := filepath.Join(p.Dir, "queue")
	dirs := []d{
		{p.ConfDir, 0o755, 0, 0}, {q, 0o755, 0, 0},
		{filepath.Join(p.Dir, "data"), 0o700, uid, gid}, {filepath.Join(p.Dir, "log"), 0o755, uid, gid},
		{filepath.Join(q, "pid"), 0o755, 0, 0},
		{filepath.Join(q, "maildrop"), 0o730, uid, postdrop}, {filepath.Join(q, "public"), 0o710, uid, postdrop},
	}
	for _, name := range []string{"active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "private", "saved", "trace"} {
		dirs = append(dirs, d{filepath.Join(q, name), 0o700, uid, 0})
	}
	for _, d := range dirs {
		if err := os.Mkdir(d.path, d.mode); err != nil {
			return fmt.Errorf("postfix instance layout: %w", err)
		}
		if err := os.Chmod(d.path, d.mode); err != nil { // umask
			return err
		}
		if err := os.Chown(d.path, d.uid, d.gid); err != nil {
			return fmt.Errorf("postfix instance layout: %w", err)
		}
	}
	return nil
}

// startOnce picks ports, writes the configuration and runs the master until the listeners greet.
func (p *Postfix) startOnce() error {
	p.listeners = p.listeners[:0]
	for _, s := range append([]Service{p.opts.SMTPD}, p.opts.Services...) {
		port, err := FreePort()
		if err != nil {
			return err
		}
		p.listeners = append(p.listeners, listener{svc: s, addr: fmt.Sprintf("127.0.0.1:%d", port)})
	}
	if err := writeConfFile(filepath.Join(p.ConfDir, "main.cf"), p.mainCF()); err != nil {
		return err
	}
	if err := writeConfFile(filepath.Join(p.ConfDir, "master.cf"), p.masterCF()); err != nil {
		return err
	}
	if err := p.writeMaps(); err != nil {
		return err
	}
	dd, err := postconf(p.ConfDir, "daemon_directory")
	if err != nil {
		return err
	}
	out, err := os.OpenFile(filepath.Join(p.Dir, "log", "master.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	// -d: stay in the foreground as our child. Setpgid: the master kills its own process group
	// on SIGTERM (master_sigdeath); without its own group it fails with "kill process group:
	// No such process" and leaves its children running.
	cmd := exec.Command(filepath.Join(dd, "master"), "-c", p.ConfDir, "-d")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run postfix master: %w", err)
	}
	p.master = cmd
	p.exited = make(chan struct{})
	go func(exited chan struct{}) { _ = cmd.Wait(); close(exited) }(p.exited)
	removeDir := p.Dir
	if p.opts.Keep {
		removeDir = ""
	}
	if p.watchdog, err = startWatchdog(cmd.Process.Pid, removeDir); err != nil {
		return err
	}
	deadline := time.Now().Add(p.opts.StartTimeout)
	for _, l := range p.listeners {
		if err := waitGreeting(l.addr, p.id(), deadline, p.exited); err != nil {
			return fmt.Errorf("smtpd %q on %s: %w", l.svc.Name, l.addr, err)
		}
	}
	return nil
}

// Addr is the host:port of the primary smtpd listener.
func (p *Postfix) Addr() string { return p.listeners[0].addr }

// ServiceAddr is the host:port of the listener with that Service.Name ("" if there is none).
func (p *Postfix) ServiceAddr(name string) string {
	for _, l := range p.listeners {
		if l.svc.Name == name {
			return l.addr
		}
	}
	return ""
}

// Stop stops the instance (SIGTERM to the master, which terminates its process group), waits
// until no process of it is left (SIGKILL after 5 s) and removes the directory unless Keep.
// It is safe to call more than once.
func (p *Postfix) Stop() error {
	p.stopOnce.Do(func() {
		p.stopErr = p.kill()
		if p.opts.Keep {
			return
		}
		if err := os.RemoveAll(p.Dir); err != nil && p.stopErr == nil {
			p.stopErr = fmt.Errorf("remove postfix instance %s: %w", p.Dir, err)
		}
	})
	return p.stopErr
}

// kill ends the master and every process in its group.
func (p *Postfix) kill() error {
	if p.master == nil || p.master.Process == nil {
		return nil
	}
	pid := p.master.Process.Pid
	defer func() { p.master = nil }()
	p.watchdog.disarm()
	_ = syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-p.exited
	}
	if waitGroupGone(pid, 5*time.Second) {
		return nil
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	if waitGroupGone(pid, 2*time.Second) {
		return nil
	}
	return fmt.Errorf("postfix instance %s: processes of group %d still running after SIGKILL", p.Dir, pid)
}

// diagnose gathers what explains a failed start: the master's own output, the mail log and
// what `postfix check` says about the configuration.
func (p *Postfix) diagnose() string {
	var b strings.Builder
	if out, err := os.ReadFile(filepath.Join(p.Dir, "log", "master.out")); err == nil && len(out) > 0 {
		fmt.Fprintf(&b, "master output:\n%s\n", tail(string(out), 20))
	}
	fmt.Fprintf(&b, "mail log:\n%s\n", tail(p.Log(), 20))
	out, _ := exec.Command("postfix", "-c", p.ConfDir, "check").CombinedOutput()
	fmt.Fprintf(&b, "postfix check:\n%s", out)
	return b.String()
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
