package harness

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Edgerewrite is a running `edgerewrite serve -c CONFIG` subprocess. It gets SIGKILL if this
// process dies.
type Edgerewrite struct {
	// Bin and Config are the binary and the config file it runs with.
	Bin, Config string
	// LogFile collects the daemon's stdout and stderr (CONFIG.log), appended across restarts.
	LogFile string
	// Listen is the config's listen value ("inet:127.0.0.1:PORT" or "unix:/path"), usable as
	// is in smtpd_milters.
	Listen string
	// Env are "KEY=value" settings added to the daemon's environment (GOMAXPROCS as a
	// systemd unit's Environment= would set it).
	Env []string

	network, address string
	mu               sync.Mutex
	proc             *daemonProc // nil when not running
}

type daemonProc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd.Wait returned; err is set before
	err  error
}

// StartEdgerewrite starts the daemon and waits until its milter socket accepts connections
// (10 s at most). It fails early with the log's tail when the daemon exits first.
func StartEdgerewrite(bin, configPath string, env ...string) (*Edgerewrite, error) {
	raw, err := os.ReadFile(configPath)
	if err != nil {
		return nil, fmt.Errorf("edgerewrite config: %w", err)
	}
	var cfg struct {
		Listen string `toml:"listen"`
	}
	if err := toml.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("edgerewrite config %s: %w", configPath, err)
	}
	network, address, ok := strings.Cut(cfg.Listen, ":")
	if !ok || network != "inet" && network != "unix" {
		return nil, fmt.Errorf("edgerewrite config %s: listen %q is not inet:HOST:PORT or unix:PATH", configPath, cfg.Listen)
	}
	if network == "inet" {
		network = "tcp"
	}
	e := &Edgerewrite{Bin: bin, Config: configPath, LogFile: configPath + ".log", Listen: cfg.Listen, Env: env, network: network, address: address}
	if err := e.Start(); err != nil {
		return nil, err
	}
	return e, nil
}

// NewEdgerewrite is StartEdgerewrite for tests: it fails the test on error and stops the
// daemon when the test ends, logging the daemon's log if the test failed.
func NewEdgerewrite(t testing.TB, bin, configPath string) *Edgerewrite {
	t.Helper()
	e, err := StartEdgerewrite(bin, configPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		err := e.Stop()
		if t.Failed() {
			t.Logf("edgerewrite log %s (last 60 lines):\n%s", e.LogFile, tail(e.Log(), 60))
		}
		if err != nil {
			t.Error(err)
		}
	})
	return e
}

// Start starts a stopped or killed daemon again and waits until it accepts.
func (e *Edgerewrite) Start() error {
	e.mu.Lock()
	if e.proc != nil {
		e.mu.Unlock()
		return errors.New("edgerewrite is already running")
	}
	if e.network == "unix" {
		_ = os.Remove(e.address) // a stale socket after Kill
	}
	logf, err := os.OpenFile(e.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	cmd := exec.Command(e.Bin, "serve", "-c", e.Config)
	if len(e.Env) > 0 {
		cmd.Env = append(os.Environ(), e.Env...)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	logf.Close()
	if err != nil {
		e.mu.Unlock()
		return fmt.Errorf("run %s: %w", e.Bin, err)
	}
	p := &daemonProc{cmd: cmd, done: make(chan struct{})}
	e.proc = p
	e.mu.Unlock()
	go func() { p.err = cmd.Wait(); close(p.done) }()

	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-p.done:
			e.forget(p)
			return fmt.Errorf("edgerewrite serve -c %s exited at start (%v); log:\n%s", e.Config, p.err, tail(e.Log(), 30))
		default:
		}
		if c, err := net.DialTimeout(e.network, e.address, time.Second); err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-p.done
			e.forget(p)
			return fmt.Errorf("edgerewrite: %s:%s does not accept after 10 s; log:\n%s", e.network, e.address, tail(e.Log(), 30))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *Edgerewrite) current() *daemonProc {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.proc
}

func (e *Edgerewrite) forget(p *daemonProc) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.proc == p {
		e.proc = nil
	}
}

// Signal sends sig (e.g. syscall.SIGHUP) to the running daemon.
func (e *Edgerewrite) Signal(sig syscall.Signal) error {
	p := e.current()
	if p == nil {
		return errors.New("edgerewrite is not running")
	}
	return p.cmd.Process.Signal(sig)
}

// PID is the running daemon's process ID (0 when stopped).
func (e *Edgerewrite) PID() int {
	if p := e.current(); p != nil {
		return p.cmd.Process.Pid
	}
	return 0
}

// Stop sends SIGTERM and waits up to 10 s for the daemon to exit (then SIGKILL). It returns an
// error unless the daemon exited with status 0. Stopping a stopped daemon does nothing.
func (e *Edgerewrite) Stop() error {
	p := e.current()
	if p == nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		e.forget(p)
		return errors.New("edgerewrite did not exit within 10 s of SIGTERM; killed it")
	}
	e.forget(p)
	if p.err != nil {
		return fmt.Errorf("edgerewrite exited after SIGTERM: %w", p.err)
	}
	return nil
}

// Kill sends SIGKILL and waits until the process is gone.
func (e *Edgerewrite) Kill() error {
	p := e.current()
	if p == nil {
		return errors.New("edgerewrite is not running")
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	e.forget(p)
	return nil
}

// Restart stops the daemon if it runs (SIGTERM) and starts it again with the same config.
func (e *Edgerewrite) Restart() error {
	if err := e.Stop(); err != nil {
		return err
	}
	return e.Start()
}

// Log returns the daemon's output so far.
func (e *Edgerewrite) Log() string {
	b, _ := os.ReadFile(e.LogFile)
	return string(b)
}
