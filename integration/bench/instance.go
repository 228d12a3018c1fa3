package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// instance is one configuration's set-up: its own throwaway Postfix relaying to its own
// smtp-sink, and for (c) and (d) its own edgerewrite daemon. Instances live for the whole
// benchmark; runs of different configurations take turns.
type instance struct {
	cfg      configuration
	dir      string
	msgFile  string
	sinkAddr string
	pf       *harness.Postfix
	sink     *sink
	daemon   *harness.Edgerewrite
	logOff   int64 // how far the mail log has been read
	dlogOff  int64 // how far the daemon's log has been read
}

// shared is what every instance is built from.
type shared struct {
	work           string // the benchmark's work directory
	bin            string // edgerewrite binary
	floorBin       string // the pass-through milter of configuration (e)
	rulesDir       string // the rule set (native)
	emptyRulesDir  string // a rules directory without rules
	senderMap      []string
	recipientMap   []string
	milterLogLevel string
	milterEnv      []string // added to the environment of edgerewrite and the floor
}

// canonicalMainCF is what configuration (b) adds to main.cf. canonical_classes keeps its
// default (envelope_sender, envelope_recipient, header_sender, header_recipient), and
// local_header_rewrite_clients its default (permit_inet_interfaces), which covers the
// benchmark's client 127.0.0.1, so headers are rewritten as well as the envelope.
var canonicalMainCF = []string{
	"sender_canonical_maps = lmdb:$config_directory/sender_canonical",
	"recipient_canonical_maps = lmdb:$config_directory/recipient_canonical",
}

// startInstance builds and starts configuration cfg's instance with a dumping smtp-sink, for
// verify; the caller then switches to the counting sink with useCountingSink.
func startInstance(cfg configuration, sh shared) (_ *instance, err error) {
	in := &instance{cfg: cfg, dir: filepath.Join(sh.work, cfg.Key)}
	defer func() {
		if err != nil {
			in.stop()
			err = fmt.Errorf("configuration (%s) %s: %w", cfg.Key, cfg.Name, err)
		}
	}()
	if err := os.Mkdir(in.dir, 0o755); err != nil {
		return nil, err
	}
	in.msgFile = filepath.Join(in.dir, "message.eml")
	if err := writeMessage(in.msgFile, cfg.variant()); err != nil {
		return nil, err
	}
	dumpDir := filepath.Join(in.dir, "dump")
	if err := mkdirPostfix(dumpDir); err != nil {
		return nil, err
	}
	// A free port can be taken before smtp-sink binds it (instances start side by side).
	for attempt := 1; ; attempt++ {
		port, err := harness.FreePort()
		if err != nil {
			return nil, err
		}
		in.sinkAddr = fmt.Sprintf("127.0.0.1:%d", port)
		if in.sink, err = startSink(in.sinkAddr, filepath.Join(dumpDir, "msg.")); err == nil {
			break
		} else if attempt == 3 {
			return nil, err
		}
	}

	opts := harness.PostfixOptions{Name: "bench-" + cfg.Key, RelayTo: in.sinkAddr}
	if cfg.Milter {
		bin, rules := sh.bin, sh.emptyRulesDir
		switch {
		case cfg.Floor:
			// The floor takes edgerewrite's command line and config file; it reads only the
			// listen address, so the rules directory is never looked at.
			bin, rules = sh.floorBin, filepath.Join(sh.work, "floor-no-rules")
		case cfg.Rules:
			rules = sh.rulesDir
		}
		if in.daemon, err = startDaemon(bin, in.dir, rules, sh.milterLogLevel, cfg.CalendarOff, sh.milterEnv...); err != nil {
			return nil, err
		}
		opts.Milters = []string{in.daemon.Listen}
		opts.MilterDefaultAction = "tempfail"
	}
	if cfg.Canonical {
		opts.Maps = []harness.Map{
			{Name: "sender_canonical", Type: "lmdb", Lines: sh.senderMap},
			{Name: "recipient_canonical", Type: "lmdb", Lines: sh.recipientMap},
		}
		opts.MainCF = canonicalMainCF
	}
	if in.pf, err = harness.StartPostfix(opts); err != nil {
		return nil, err
	}
	return in, nil
}

// useCountingSink replaces the dumping smtp-sink with a counting one on the same address.
func (in *instance) useCountingSink() error {
	in.sink.stop()
	s, err := startSink(in.sinkAddr, "")
	if err != nil {
		return err
	}
	in.sink = s
	return nil
}

// stop stops everything of the instance and returns what went wrong.
func (in *instance) stop() error {
	var errs []error
	if in.pf != nil {
		errs = append(errs, in.pf.Stop())
	}
	if in.daemon != nil {
		errs = append(errs, in.daemon.Stop())
	}
	in.sink.stop()
	return errors.Join(errs...)
}

// mkdirPostfix creates dir owned by the postfix user (smtp-sink -u postfix writes into it).
func mkdirPostfix(dir string) error {
	u, err := user.Lookup("postfix")
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	return os.Chown(dir, uid, gid)
}
