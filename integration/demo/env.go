package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// env is everything the demo runs; close undoes it.
type env struct {
	root     string // the examples folder's repository root
	dir      string // the demo's temporary directory: tls/, etc/ (config and rules)
	ca       *harness.CA
	eop      *harness.Leaf // the client certificate "Exchange Online" presents
	internet *harness.Sink
	hops     map[string]*harness.Sink // transport name ("tenanta") -> its next hop
	pf       *harness.Postfix
	er       *harness.Edgerewrite
	// listeners maps the example's production listener ("203.0.113.26:smtp") to the local address.
	listeners map[string]string
	confPath  string
	metrics   string
	version   string // Postfix's mail_version
}

// startEnv starts the example: CA and certificates, sinks, Postfix, edgerewrite.
func startEnv(ctx context.Context, root, bin string) (e *env, err error) {
	e = &env{root: root, hops: map[string]*harness.Sink{}}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.close())
			e = nil
		}
	}()
	if e.dir, err = os.MkdirTemp("", "edgerewrite-demo-"); err != nil {
		return e, err
	}
	// Postfix's unprivileged processes read the certificates and the rules copy lives here too.
	if err = os.Chmod(e.dir, 0o755); err != nil {
		return e, err
	}
	tlsDir := filepath.Join(e.dir, "tls")
	if err = os.Mkdir(tlsDir, 0o755); err != nil {
		return e, err
	}
	if e.ca, err = harness.NewCA(tlsDir, "Demo Cloud Services CA"); err != nil {
		return e, err
	}
	// The client certificate "mail.protection.outlook.com" is what the demo's Exchange Online presents.
	e.eop, err = harness.WriteExampleCerts(e.ca, []string{"mx1.contoso.com", "relay-tenanta.contoso.com", "relay-tenantb.contoso.com"},
		map[string]string{"tenanta": "tenanta.contoso.com", "tenantb": "tenantb.contoso.com"})
	if err != nil {
		return e, err
	}
	if e.internet, err = harness.StartSink(); err != nil {
		return e, err
	}
	hops := map[string]string{}
	for _, h := range []struct{ transport, name string }{{"tenanta", "tenant A"}, {"tenantb", "tenant B"}} {
		hop, err := harness.StartTLSSink(h.name, e.ca)
		if err != nil {
			return e, err
		}
		e.hops[h.transport] = hop
		hops[h.transport] = hop.Nexthop()
	}
	if err = ctx.Err(); err != nil {
		return e, err
	}
	x, err := loadExample(root, e.ca, hops)
	if err != nil {
		return e, err
	}
	po := x.Postfix
	po.RelayTo = e.internet.Addr()
	if e.pf, err = harness.StartPostfix(po); err != nil {
		return e, err
	}
	e.listeners = map[string]string{}
	for prod, name := range x.Listeners {
		e.listeners[prod] = e.pf.ServiceAddr(name)
	}
	if out, err := e.pf.Command("postconf", "-h", "mail_version"); err == nil {
		e.version = strings.TrimSpace(string(out))
	}
	if err = ctx.Err(); err != nil {
		return e, err
	}
	if err = e.startEdgerewrite(x, bin); err != nil {
		return e, err
	}
	return e, nil
}

// startEdgerewrite writes the folder's edgerewrite.toml (socket in the instance's queue
// directory, a copy of the rules, a free metrics port) and starts the daemon.
func (e *env) startEdgerewrite(x *harness.Example, bin string) error {
	d, err := x.WriteEdgerewriteConfig(filepath.Join(e.pf.Dir, "queue"), filepath.Join(e.dir, "etc"))
	if err != nil {
		return err
	}
	e.confPath, e.metrics = d.ConfPath, d.Metrics
	e.er, err = harness.StartEdgerewrite(bin, e.confPath)
	return err
}

// metric returns one series of edgerewrite's /metrics (0 when absent).
func (e *env) metric(series string) (float64, error) {
	v, _, err := harness.ScrapeMetric(e.metrics, series)
	if err != nil {
		return 0, fmt.Errorf("edgerewrite %w", err)
	}
	return v, nil
}

// appendConfig adds text to edgerewrite.toml as an admin would (a new file renamed over the old
// one) and waits until the daemon reports a successful reload.
func (e *env) appendConfig(ctx context.Context, text string) error {
	const success = `edgerewrite_reloads_total{result="success"}`
	before, err := e.metric(success)
	if err != nil {
		return err
	}
	old, err := os.ReadFile(e.confPath)
	if err != nil {
		return err
	}
	tmp := e.confPath + ".new"
	if err := os.WriteFile(tmp, append(old, text...), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, e.confPath); err != nil {
		return err
	}
	return poll(ctx, 10*time.Second, func() (bool, error) {
		v, err := e.metric(success)
		return v > before, err
	}, "edgerewrite did not reload edgerewrite.toml")
}

// poll calls f every 20 ms until it reports done, fails, ctx ends or timeout passes.
func poll(ctx context.Context, timeout time.Duration, f func() (bool, error), what string) error {
	deadline := time.Now().Add(timeout)
	for {
		done, err := f()
		if err != nil || done {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s within %s", what, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// teardown is what close did, for the last line of the output.
type teardown struct {
	pids []int
	dirs []string
}

// close stops everything (edgerewrite, Postfix, the sinks), removes the temporary
// directories, and checks that no process and no directory is left.
func (e *env) close() error {
	td, err := e.stop()
	return errors.Join(err, td.verify())
}

func (e *env) stop() (teardown, error) {
	var td teardown
	var errs []error
	if e.er != nil {
		td.pids = append(td.pids, e.er.PID())
		errs = append(errs, e.er.Stop())
	}
	if e.pf != nil {
		if out, err := os.ReadFile(filepath.Join(e.pf.Dir, "queue", "pid", "master.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil {
				td.pids = append(td.pids, pid)
			}
		}
		td.dirs = append(td.dirs, e.pf.Dir)
		errs = append(errs, e.pf.Stop())
	}
	if e.internet != nil {
		errs = append(errs, e.internet.Close())
	}
	for _, h := range e.hops {
		errs = append(errs, h.Close())
	}
	if e.dir != "" {
		td.dirs = append(td.dirs, e.dir)
		errs = append(errs, os.RemoveAll(e.dir))
	}
	return td, errors.Join(errs...)
}

// verify checks that the processes are gone and the directories removed.
func (td teardown) verify() error {
	var errs []error
	for _, pid := range td.pids {
		if pid > 0 && syscall.Kill(pid, 0) == nil {
			errs = append(errs, fmt.Errorf("process %d is still running after the teardown", pid))
		}
	}
	for _, d := range td.dirs {
		if _, err := os.Stat(d); err == nil {
			errs = append(errs, fmt.Errorf("%s is still there after the teardown", d))
		}
	}
	return errors.Join(errs...)
}
