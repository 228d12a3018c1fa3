package milter

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgerewrite/edgerewrite/policy"
	"github.com/edgerewrite/edgerewrite/rewrite"
)

// Live is what a reload may change while the daemon serves: the rules (the table swaps its own
// snapshot), the policy and the settings that apply without a restart (rewrite_outbound_to_cc,
// log_level). Reload is safe to call from any goroutine; reloads run one at a time.
type Live struct {
	log      *slog.Logger
	level    *slog.LevelVar
	metrics  *Metrics
	table    *rewrite.Table
	settings func(Settings) // hands new settings to the milter server; may be nil
	clock    func() time.Time

	cfg    atomic.Pointer[Config]
	loaded atomic.Bool // a rule load has succeeded at least once

	mu       sync.Mutex // serialises Reload; guards cfgBytes
	cfgBytes []byte     // the config file as last read successfully
}

// LiveOptions create a Live. Config is the config in service (already loaded and valid) and
// ConfigBytes the file it was parsed from; Table is the rule table built with its delimiter.
type LiveOptions struct {
	Config      *Config
	ConfigBytes []byte
	Table       *rewrite.Table
	Logger      *slog.Logger
	Level       *slog.LevelVar // set from log_level on every config change; may be nil
	Metrics     *Metrics
	Settings    func(Settings)
	Clock       func() time.Time
}

// NewLive returns the live state for a config; call Reload to load the rules.
func NewLive(o LiveOptions) *Live {
	l := &Live{log: o.Logger, level: o.Level, metrics: o.Metrics, table: o.Table, settings: o.Settings,
		clock: o.Clock, cfgBytes: o.ConfigBytes}
	if l.clock == nil {
		l.clock = time.Now
	}
	if l.metrics == nil {
		l.metrics = NewMetrics(nil)
	}
	l.cfg.Store(o.Config)
	return l
}

// Config is the config in service.
func (l *Live) Config() *Config { return l.cfg.Load() }

// Policy is the policy in service.
func (l *Live) Policy() *policy.Policy { return l.cfg.Load().Policy() }

// Snapshot is the rule snapshot in service.
func (l *Live) Snapshot() *rewrite.Snapshot { return l.table.Snapshot() }

// Loaded reports whether the rules have loaded successfully at least once.
func (l *Live) Loaded() bool { return l.loaded.Load() }

// LoadInitial loads the rules at start. Unlike Reload it logs nothing of the problems: the
// caller reports them and stops.
func (l *Live) LoadInitial() (rewrite.Stats, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	stats, err := l.table.Load(l.cfg.Load().RulesDir)
	if err != nil {
		l.metrics.ObserveReload(false, 0, l.clock())
		return stats, err
	}
	l.loaded.Store(true)
	l.metrics.ObserveReload(true, stats.Rules, l.clock())
	return stats, nil
}

// Reload rereads the config file (when it changed) and the rules directory. A config that does
// not validate keeps the one in service; rules that do not validate keep the table in service.
// Every problem is logged, one line each with its file:line, and returned. The reload metrics
// record the result: success only when both config and rules are good.
func (l *Live) Reload(reason string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := l.clock()
	cfgErr := l.reloadConfig()
	cfg := l.cfg.Load()
	stats, rulesErr := l.table.Load(cfg.RulesDir)
	if rulesErr == nil {
		l.loaded.Store(true)
	} else {
		for _, e := range Problems(rulesErr) {
			l.log.Error("rule problem; the rules in service stay", "err", e.Error())
		}
	}
	err := errors.Join(cfgErr, rulesErr)
	l.metrics.ObserveReload(err == nil, stats.Rules, l.clock())
	l.metrics.RulesLoaded.Set(float64(l.table.Snapshot().Stats().Rules))
	result := "success"
	if err != nil {
		result = "failure"
	}
	l.log.Info("reload", "reason", reason, "result", result, "rules", stats.Rules,
		"files_parsed", stats.FilesParsed, "config_ok", cfgErr == nil, "rules_ok", rulesErr == nil,
		"seconds", l.clock().Sub(start).Seconds())
	return err
}

// reloadConfig rereads the config file and puts a changed, valid config in service. Settings
// that need a restart keep their running values (each change is logged).
func (l *Live) reloadConfig() error {
	cur := l.cfg.Load()
	doc, err := os.ReadFile(cur.Path())
	if err != nil {
		err = &ConfigError{File: cur.Path(), Err: fmt.Errorf("reading config: %w; the config in service stays", err)}
		l.log.Error("config problem; the config in service stays", "err", err.Error())
		return err
	}
	if bytes.Equal(doc, l.cfgBytes) {
		return nil
	}
	next, err := ParseConfig(cur.Path(), doc)
	if err == nil {
		err = next.keepRestartSettings(cur, l.log)
	}
	if err != nil {
		for _, e := range Problems(err) {
			l.log.Error("config problem; the config in service stays", "err", e.Error())
		}
		return err
	}
	l.cfgBytes = doc
	l.cfg.Store(next)
	l.apply(next)
	l.log.Info("config reloaded", "file", cur.Path())
	return nil
}

// apply hands the live settings of cfg to the logger and the milter server.
func (l *Live) apply(cfg *Config) {
	if l.level != nil {
		if lv, err := parseLevel(cfg.LogLevel); err == nil {
			l.level.Set(lv)
		}
	}
	if l.settings != nil {
		l.settings(cfg.Settings())
	}
}

// Settings are the milter server settings of this config.
func (c *Config) Settings() Settings {
	return Settings{RewriteOutboundToCc: c.OutboundToCc()}
}

// keepRestartSettings copies into c the settings of the running config that cannot change
// without a restart, logging each that the file changes, and rebuilds the policy if the
// recipient delimiter it was built with changed back.
func (c *Config) keepRestartSettings(running *Config, log *slog.Logger) error {
	keep := func(key string, dst *string, was string) {
		if *dst != was {
			log.Warn("setting changed; it takes effect at the next restart", "key", key, "running", was, "file", *dst)
			*dst = was
		}
	}
	keep("listen", &c.Listen, running.Listen)
	keep("socket_mode", &c.SocketMode, running.SocketMode)
	keep("socket_group", &c.SocketGroup, running.SocketGroup)
	keep("rules_dir", &c.RulesDir, running.RulesDir)
	keep("metrics_listen", &c.MetricsListen, running.MetricsListen)
	keep("log_format", &c.LogFormat, running.LogFormat)
	delim := c.Delimiter()
	keep("recipient_delimiter", &delim, running.Delimiter())
	if delim == c.Delimiter() {
		return nil
	}
	c.RecipientDelimiter = &delim
	pc := c.Config
	pc.RecipientDelimiter = delim
	p, err := policy.New(pc)
	if err != nil {
		return &ConfigError{File: c.path, Err: err}
	}
	c.policy = p
	return nil
}
