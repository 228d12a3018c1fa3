package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgerewrite/edgerewrite/milter/config"
	"github.com/edgerewrite/edgerewrite/milter/decide"
	"github.com/edgerewrite/edgerewrite/policy"
	"github.com/edgerewrite/edgerewrite/rewrite"
)

// Live holds the generation in service (config, policy and rules, see decide.Generation) and
// builds the next one on every reload. A reload reads the config file and the rules
// directory, validates both, and only when every part is good commits the rules and publishes
// the new generation with one atomic swap; when any part fails, the whole old generation keeps
// serving. Reload is safe to call from any goroutine; reloads run one at a time.
type Live struct {
	log     *slog.Logger
	level   *slog.LevelVar
	metrics *Metrics
	table   *rewrite.Table
	waves   policy.WaveLoader
	clock   func() time.Time
	path    string

	gen atomic.Pointer[decide.Generation]

	mu       sync.Mutex // serialises Reload; guards the fields below
	first    *config.Config
	cfgBytes []byte // the config file the generation in service was built from
	seq      uint64
	held     []string // what the held edit would remove; nil when none is held
	failure  string   // the problems of the last reload, when it failed
}

// LiveOptions create a Live. Config is the config read at start (already valid) and
// ConfigBytes the file it was parsed from; Table is the rule table built with its delimiter.
type LiveOptions struct {
	Config      *config.Config
	ConfigBytes []byte
	Table       *rewrite.Table
	Logger      *slog.Logger
	Level       *slog.LevelVar // set from log_level with every new generation; may be nil
	Metrics     *Metrics
	Clock       func() time.Time
}

// NewLive returns the live state for a config; nothing is in service until the first Reload.
func NewLive(o LiveOptions) *Live {
	l := &Live{log: o.Logger, level: o.Level, metrics: o.Metrics, table: o.Table, clock: o.Clock,
		path: o.Config.Path(), first: o.Config, cfgBytes: o.ConfigBytes}
	if l.clock == nil {
		l.clock = time.Now
	}
	if l.metrics == nil {
		l.metrics = NewMetrics(nil)
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	return l
}

// Generation is the generation in service; nil before the first successful load.
func (l *Live) Generation() *decide.Generation { return l.gen.Load() }

// Loaded reports whether a generation is in service.
func (l *Live) Loaded() bool { return l.gen.Load() != nil }

// Status is the daemon's status: the generation in service and a held edit.
func (l *Live) Status() Status {
	st := Status{Held: l.Held()}
	if g := l.gen.Load(); g != nil {
		st.Generation = g.Seq
		st.Rules = g.Rules.Stats().Rules
		st.RulesFingerprint = g.Rules.Fingerprint()
		st.PolicyFingerprint = g.PolicyFingerprint()
	}
	return st
}

// Held returns what the edit the guard holds would remove; nil when no edit is held.
func (l *Live) Held() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.held)
}

// Reload builds the next generation from the config file and the rules directory and puts it
// in service when every part validates. Otherwise the generation in service stays whole, every
// problem is logged (one line each, with its file:line) and returned, and the reload metrics
// say so. The first Reload builds the first generation from the config given to NewLive.
//
// An edit that would lose much (see losses) is held unless confirmed, which SIGHUP is: it
// returns ErrHeld, the generation in service stays, and the log and metrics say what it would
// remove.
func (l *Live) Reload(reason string, confirmed bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := l.clock()
	cur := l.gen.Load()
	cfg, doc, cfgErr := l.nextConfig(cur)
	var (
		prep     *rewrite.Prepared
		rulesErr error
		waves    *policy.Waves
		pol      *policy.Policy
	)
	if cfg != nil {
		prep, rulesErr = l.table.Prepare(cfg.RulesDir)
		var wavesErr error
		if waves, wavesErr = l.waves.Load(cfg.RulesDir); wavesErr == nil {
			pol, wavesErr = decide.WavePolicy(cfg, waves, cur)
		}
		rulesErr = errors.Join(rulesErr, wavesErr)
	}
	err := errors.Join(cfgErr, rulesErr)
	if err != nil {
		if prep != nil {
			prep.Abort()
		}
		// Each problem is logged once: an automatic reload that fails the same way again
		// (another event on a file still broken) says so in one line; SIGHUP lists them again.
		if text := err.Error(); text != l.failure || confirmed {
			for _, e := range config.Problems(err) {
				l.log.Error("reload problem; the configuration and rules in service stay", "err", e.Error())
			}
			l.failure = text
		} else {
			l.log.Error("reload problem; the same problems as at the last attempt, not listed again; the configuration and rules in service stay")
		}
		l.metrics.ObserveReload(false, 0, l.clock())
		l.log.Info("reload", "reason", reason, "result", "failure", "generation", l.seq,
			"config_ok", cfgErr == nil, "rules_ok", cfgErr == nil && rulesErr == nil,
			"problems", rewrite.ProblemCount(err), "seconds", l.clock().Sub(start).Seconds())
		return err
	}
	if cur != nil && !confirmed {
		if ls := losses(cur, cfg, prep.Snapshot().Stats()); len(ls) > 0 {
			prep.Abort()
			l.held = ls
			l.metrics.ReloadHeld.Set(1)
			l.log.Warn("reload held: the edit would lose much; the configuration and rules in service stay until `systemctl reload edgerewrite` confirms it",
				"reason", reason, "generation", l.seq, "held", heldText(ls))
			return ErrHeld
		}
	}
	l.held = nil
	l.failure = ""
	l.metrics.ReloadHeld.Set(0)
	l.seq++
	gen := decide.NewGeneration(l.seq, cfg, pol, waves, prep.Commit())
	l.gen.Store(gen)
	l.cfgBytes = doc
	if l.level != nil {
		if lv, err := config.ParseLevel(cfg.LogLevel); err == nil {
			l.level.Set(lv)
		}
	}
	stats := gen.Rules.Stats()
	l.metrics.ObserveReload(true, stats.Rules, l.clock())
	l.metrics.ObserveGeneration(gen.Rules.Fingerprint(), gen.PolicyFingerprint())
	l.logNotices(gen, cur == nil || cfg != cur.Config)
	l.log.Info("reload", "reason", reason, "result", "success", "generation", gen.Seq,
		"rules", stats.Rules, "files_parsed", stats.FilesParsed, "cutover_entries", waves.Entries(),
		"config_changed", cur == nil || cfg != cur.Config, "seconds", l.clock().Sub(start).Seconds())
	return nil
}

// logNotices logs what the new generation's load noticed (Exchange export quirks, whole-set
// warnings of the rules it touched) and the external domains outside the organisation, whose
// inbound mail is refused: of the rules the load added, or of every rule when the config (and
// so the organisation's domains) changed.
func (l *Live) logNotices(gen *decide.Generation, configChanged bool) {
	for _, n := range gen.Rules.Stats().Notices {
		l.log.Log(context.Background(), n.Level, "rules", "notice", n.String())
	}
	rules := gen.Rules.Added()
	if configChanged {
		rules = gen.Rules.Rules()
	}
	for _, n := range rewrite.OutsideOrganization(rules, gen.Policy.IsOrgDomain) {
		l.log.Log(context.Background(), n.Level, "rules", "notice", n.String())
	}
}

// nextConfig is the config of the next generation: the one in service when the file did not
// change, else the file parsed and validated, with the settings that need a restart kept at
// their running values. The error joins every problem; cfg is nil with it.
func (l *Live) nextConfig(cur *decide.Generation) (*config.Config, []byte, error) {
	if cur == nil {
		return l.first, l.cfgBytes, nil
	}
	doc, err := config.ReadFile(l.path)
	if err != nil {
		return nil, nil, &config.ConfigError{File: l.path, Err: fmt.Errorf("reading config: %w", err)}
	}
	if bytes.Equal(doc, l.cfgBytes) {
		return cur.Config, doc, nil
	}
	next, err := config.ParseConfig(l.path, doc)
	if err == nil {
		err = next.KeepRestartSettings(cur.Config, l.log)
	}
	if err != nil {
		return nil, nil, err
	}
	return next, doc, nil
}
