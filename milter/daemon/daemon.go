package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	sddaemon "github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"

	"github.com/edgerewrite/edgerewrite/milter"
	"github.com/edgerewrite/edgerewrite/milter/config"
	"github.com/edgerewrite/edgerewrite/rewrite"
)

// DefaultDrainTimeout is how long a shutdown waits for messages in flight; the packaged unit's
// TimeoutStopSec (60 s) leaves room for it.
const DefaultDrainTimeout = 45 * time.Second

// reasonSignal is the reload reason of SIGHUP (systemctl reload).
const reasonSignal = "SIGHUP"

// RunOptions configure Run. Only ConfigPath is required.
type RunOptions struct {
	// ConfigPath is the config file.
	ConfigPath string
	// LogOutput receives the log; nil is standard error.
	LogOutput io.Writer
	// Notify sends a systemd notification ("READY=1"); nil uses sd_notify, which does nothing
	// when NOTIFY_SOCKET is not set (not started by systemd with Type=notify).
	Notify func(state string)
	// Ready, when set, is called once the daemon serves, with the milter and metrics listener
	// addresses (metrics nil when off). Tests use it to learn ports chosen with ":0".
	Ready func(milter, metrics net.Addr)
	// DrainTimeout bounds the wait for messages in flight at shutdown; 0 is
	// DefaultDrainTimeout.
	DrainTimeout time.Duration
	// Debounce is the quiet time after file events before a reload; 0 is DefaultDebounce.
	Debounce time.Duration
	// Version is logged at start.
	Version string
	// CaptureStdLog sends what the standard log package writes (go-milter logs through it) to
	// the daemon's log while Run runs, as records of its format. The standard logger is one
	// per process: `edgerewrite serve` sets this; tests that run several daemons leave it off.
	CaptureStdLog bool
}

// Run is `edgerewrite serve`: it loads the config and the rules (a problem with either is
// fatal, and the returned error joins every problem), opens the milter listener and the
// metrics/health listener, reloads on file changes and SIGHUP, and serves until ctx ends
// (SIGTERM, SIGINT). Then it stops accepting connections, drains the messages in flight and
// returns nil.
func Run(ctx context.Context, o RunOptions) error {
	if o.LogOutput == nil {
		o.LogOutput = os.Stderr
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	// Take SIGHUP from the start: its default action would end the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	doc, err := config.ReadFile(o.ConfigPath)
	if err != nil {
		return &config.ConfigError{File: o.ConfigPath, Err: fmt.Errorf("reading config: %w", err)}
	}
	cfg, err := config.ParseConfig(o.ConfigPath, doc)
	if err != nil {
		return err
	}
	if err := cfg.CheckHost(); err != nil {
		return err
	}
	level := new(slog.LevelVar)
	lv, _ := config.ParseLevel(cfg.LogLevel)
	level.Set(lv)
	log := newLogger(cfg.LogFormat, o.LogOutput, level)
	if o.CaptureStdLog {
		defer captureStdLog(log)()
	}
	notify := o.Notify
	if notify == nil {
		notify = func(state string) {
			if _, err := sddaemon.SdNotify(false, state); err != nil {
				log.Warn("sd_notify", "err", err.Error())
			}
		}
	}
	log.Info("starting", "version", o.Version, "config", o.ConfigPath)

	reg, metrics, sessionMetrics := NewRegistry()
	table := rewrite.NewTable(rewrite.Options{RecipientDelimiter: cfg.Delimiter()})
	// The first generation is built before anything serves, so every callback below reads a
	// generation that exists.
	live := NewLive(LiveOptions{Config: cfg, ConfigBytes: doc, Table: table, Logger: log, Level: level,
		Metrics: metrics})
	if err := live.Reload("start", true); err != nil {
		return fmt.Errorf("the configuration and rules do not load:\n%w", err)
	}
	stats := live.Generation().Rules.Stats()
	log.Info("rules loaded", "dir", cfg.RulesDir, "rules", stats.Rules, "files", len(stats.ByFile))
	for _, w := range cfg.Policy().Warnings() {
		log.Warn("config", "warning", w)
	}
	srv := milter.NewServer(milter.ServerOptions{Generation: live.Generation, Logger: log, Metrics: sessionMetrics, Limits: cfg.Limits})

	ml, err := listenMilter(cfg, log)
	if err != nil {
		return err
	}
	var milterUp atomic.Bool
	var hs *httpServer
	if cfg.MetricsListen != "" {
		health := func() (bool, string) {
			switch {
			case !milterUp.Load():
				return false, "milter listener not up"
			case !live.Loaded():
				return false, "rules never loaded"
			}
			return true, ""
		}
		if hs, err = listenHTTP(cfg.MetricsListen, NewHTTPHandler(reg, health, live.Status, log), log); err != nil {
			ml.Close()
			return err
		}
	}

	status := func() string {
		return fmt.Sprintf("STATUS=serving %d rules", live.Generation().Rules.Stats().Rules)
	}
	reload := func(reason string) {
		if reason == reasonSignal {
			notify(fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d", monotonicUsec()))
		}
		_ = live.Reload(reason, reason == reasonSignal) // every problem is logged; the old generation keeps serving; SIGHUP confirms a held edit
		if reason == reasonSignal {
			notify("READY=1\n" + status())
		} else {
			notify(status())
		}
	}
	cfgPath, _ := filepath.Abs(o.ConfigPath)
	rulesDir, _ := filepath.Abs(cfg.RulesDir)
	watcher, err := NewWatcher(log, o.Debounce, reload, ConfigWatchDirs(cfgPath, rulesDir)...)
	if err != nil {
		ml.Close()
		if hs != nil {
			hs.l.Close()
		}
		return err
	}

	errc := make(chan error, 3)
	go func() { errc <- srv.Serve(ml) }()
	milterUp.Store(true)
	var metricsAddr net.Addr
	if hs != nil {
		metricsAddr = hs.Addr()
		go func() { errc <- hs.Serve() }()
	}
	wctx, stopWatcher := context.WithCancel(context.Background())
	watcherDone := make(chan struct{})
	go func() {
		defer close(watcherDone)
		if err := watcher.Run(wctx); err != nil {
			errc <- err
		}
	}()
	notify("READY=1\n" + status())
	log.Info("serving", "milter", ml.Addr().String(), "metrics", addrString(metricsAddr))
	if o.Ready != nil {
		o.Ready(ml.Addr(), metricsAddr)
	}

	var fatal error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-hup:
			watcher.Trigger(reasonSignal)
		case err := <-errc:
			if err != nil {
				fatal = err
				log.Error("stopping", "err", err.Error())
				break loop
			}
		}
	}

	notify("STOPPING=1")
	milterUp.Store(false)
	log.Info("shutting down: no new connections, draining messages in flight", "sessions", srv.Active(),
		"timeout_seconds", o.DrainTimeout.Seconds())
	dctx, cancel := context.WithTimeout(context.Background(), o.DrainTimeout)
	defer cancel()
	if err := srv.Shutdown(dctx); err != nil {
		log.Warn("drain timed out; the remaining connections were closed (Postfix applies milter_default_action)",
			"err", err.Error())
	}
	stopWatcher()
	<-watcherDone
	if hs != nil {
		hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer hcancel()
		_ = hs.Shutdown(hctx)
	}
	log.Info("stopped")
	return fatal
}

// newLogger builds the daemon's logger: logfmt-like text or JSON, at a level a reload may change.
func newLogger(format string, w io.Writer, level *slog.LevelVar) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// monotonicUsec is CLOCK_MONOTONIC in microseconds, as sd_notify's RELOADING=1 wants it.
func monotonicUsec() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return ts.Nano() / 1000
}

func addrString(a net.Addr) string {
	if a == nil {
		return "off"
	}
	return a.String()
}
