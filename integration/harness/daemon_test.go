package harness

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

// TestMain turns this test binary into a stand-in for `edgerewrite serve -c CONFIG` when
// HARNESS_FAKE_DAEMON is set, so the daemon runner is tested before the real daemon exists.
func TestMain(m *testing.M) {
	if mode := os.Getenv("HARNESS_FAKE_DAEMON"); mode != "" {
		os.Exit(fakeDaemon(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// fakeDaemon listens where the config says until SIGTERM ("serve"), or fails at once ("fail").
func fakeDaemon(mode string, args []string) int {
	if mode == "fail" || len(args) != 3 || args[0] != "serve" || args[1] != "-c" {
		fmt.Println("fake edgerewrite: config broken, args", args)
		return 2
	}
	raw, err := os.ReadFile(args[2])
	if err != nil {
		fmt.Println(err)
		return 1
	}
	var cfg struct{ Listen string }
	if err := toml.Unmarshal(raw, &cfg); err != nil {
		fmt.Println(err)
		return 1
	}
	network, addr, _ := strings.Cut(cfg.Listen, ":")
	if network == "inet" {
		network = "tcp"
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	// Say it before listening: the runner returns as soon as a dial succeeds, and a test that
	// kills the daemon right then must still find this line in the log.
	fmt.Println("fake edgerewrite: listening on", cfg.Listen)
	ln, err := net.Listen(network, addr)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	<-sig
	fmt.Println("fake edgerewrite: SIGTERM, stopping")
	ln.Close()
	return 0
}

func TestEdgerewriteRunner(t *testing.T) {
	t.Setenv("HARNESS_FAKE_DAEMON", "serve")
	for _, unix := range []bool{false, true} {
		dir := t.TempDir()
		listen := ""
		if unix {
			listen = "unix:" + filepath.Join(dir, "milter.sock")
		}
		cfgPath := filepath.Join(dir, "edgerewrite.toml")
		cfg, err := WriteDaemonConfig(cfgPath, DaemonConfig{Listen: listen, RulesDir: dir, Extra: "[organization]\ndomains = [\"contoso.com\"]"})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := os.ReadFile(cfgPath)
		var parsed map[string]any
		if err := toml.Unmarshal(raw, &parsed); err != nil || parsed["listen"] != cfg.Listen || parsed["rules_dir"] != dir ||
			!strings.HasPrefix(cfg.MetricsListen, "127.0.0.1:") || parsed["metrics_listen"] != cfg.MetricsListen {
			t.Fatalf("config %s: %v\n%s", cfgPath, err, raw)
		}
		e := NewEdgerewrite(t, os.Args[0], cfgPath)
		if e.Listen != cfg.Listen || e.PID() == 0 {
			t.Fatalf("Listen %q PID %d", e.Listen, e.PID())
		}
		first := e.PID()
		if err := e.Restart(); err != nil {
			t.Fatal(err)
		}
		if e.PID() == first || e.PID() == 0 {
			t.Errorf("Restart kept PID %d", first)
		}
		if err := e.Kill(); err != nil {
			t.Fatal(err)
		}
		if e.PID() != 0 || e.Signal(syscall.SIGHUP) == nil {
			t.Error("killed daemon still looks alive")
		}
		if err := e.Start(); err != nil {
			t.Fatal(err)
		}
		if err := e.Stop(); err != nil {
			t.Fatal(err)
		}
		if log := e.Log(); strings.Count(log, "listening on") != 3 || strings.Count(log, "SIGTERM") != 2 {
			t.Errorf("log:\n%s", log)
		}
		if err := e.Stop(); err != nil {
			t.Errorf("second Stop: %v", err)
		}
	}
}

func TestEdgerewriteRunnerReportsEarlyExit(t *testing.T) {
	t.Setenv("HARNESS_FAKE_DAEMON", "fail")
	cfgPath := filepath.Join(t.TempDir(), "edgerewrite.toml")
	if _, err := WriteDaemonConfig(cfgPath, DaemonConfig{MetricsListen: "off"}); err != nil {
		t.Fatal(err)
	}
	_, err := StartEdgerewrite(os.Args[0], cfgPath)
	if err == nil || !strings.Contains(err.Error(), "exited at start") || !strings.Contains(err.Error(), "config broken") {
		t.Fatalf("error %v, want early exit with the log", err)
	}
	if _, err := StartEdgerewrite(os.Args[0], filepath.Join(t.TempDir(), "missing.toml")); err == nil {
		t.Error("missing config accepted")
	}
}
