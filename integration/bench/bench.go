package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// report is everything BENCHMARKS.md is rendered from.
type report struct {
	Opts     options
	Start    time.Time
	Took     time.Duration // the whole driver
	E2ETook  time.Duration // the end-to-end layer
	Machine  machine
	Results  []runResult
	Summary  summary
	Problems []string // configurations that could not be set up or verified
	Setups   []setupInfo
	GoBench  *goBench
}

// run is the benchmark: set-up, verification, warm-up, the interleaved rounds, then the Go
// benchmarks. It returns a report whenever there is something to report; err says what
// failed (a failed run, a configuration that could not run, the Go benchmarks).
func run(ctx context.Context, o options, log *slog.Logger) (*report, error) {
	rep := &report{Opts: o, Start: time.Now()}
	defer func() { rep.Took = time.Since(rep.Start) }()

	var failed []error
	if len(o.Configs) > 0 {
		if err := runEndToEnd(ctx, o, log, rep); err != nil {
			failed = append(failed, err)
		}
	}
	if o.GoBench && ctx.Err() == nil {
		log.Info("go benchmarks", "benchtime", o.BenchTime)
		root, err := harness.ModuleRoot()
		if err != nil {
			return rep, errors.Join(append(failed, err)...)
		}
		g := runGoBench(ctx, root, o.BenchTime)
		rep.GoBench = &g
		if g.Err != nil {
			failed = append(failed, fmt.Errorf("%s: %w", g.Command, g.Err))
		}
		log.Info("go benchmarks done", "took", g.Elapsed.Round(time.Second), "results", len(g.Results))
	}
	for _, r := range rep.Results {
		if !r.OK() {
			failed = append(failed, fmt.Errorf("round %d, %s, (%s) %s: %w", r.Round+1, r.Mode.Key, r.Config.Key, r.Config.Name, r.Err))
		}
	}
	return rep, errors.Join(failed...)
}

// runEndToEnd sets up every configuration's instance, then runs the rounds.
func runEndToEnd(ctx context.Context, o options, log *slog.Logger, rep *report) error {
	start := time.Now()
	defer func() { rep.E2ETook = time.Since(start) }()
	work, err := makeWorkDir()
	if err != nil {
		return err
	}
	if o.Keep {
		log.Info("work directory kept", "dir", work)
	} else {
		defer os.RemoveAll(work)
	}
	sh, err := prepare(work, o)
	if err != nil {
		return err
	}
	log.Info("rules written", "rules", o.Rules, "domain rules", len(domainRules), "took", time.Since(start).Round(time.Millisecond))

	var insts []*instance
	defer func() {
		for _, in := range insts {
			if err := in.stop(); err != nil {
				log.Warn("stopping an instance", "config", in.cfg.Key, "err", err)
			}
		}
	}()
	// Set the instances up side by side: most of it is waiting for daemons to start.
	type setupResult struct {
		in  *instance
		err error
	}
	results := make([]setupResult, len(o.Configs))
	var wg sync.WaitGroup
	for i, cfg := range o.Configs {
		wg.Go(func() {
			in, err := setUp(ctx, cfg, sh, o, log)
			results[i] = setupResult{in, err}
		})
	}
	wg.Wait()
	for i, r := range results {
		if r.err != nil {
			rep.Problems = append(rep.Problems, r.err.Error())
			log.Error("configuration left out", "config", o.Configs[i].Key, "err", r.err)
			continue
		}
		insts = append(insts, r.in)
		if info, err := r.in.describeSetup(work); err == nil {
			rep.Setups = append(rep.Setups, info)
		} else {
			log.Warn("reading an instance's configuration", "config", r.in.cfg.Key, "err", err)
		}
		if rep.Machine.Postfix == "" {
			rep.Machine = describeMachine(r.in.pf.ConfDir)
		}
	}
	if rep.Machine.CPUs == 0 {
		rep.Machine = describeMachine("")
	}
	for round := 0; round < o.Rounds && ctx.Err() == nil; round++ {
		for _, m := range rotate(o.Modes, round) {
			for _, in := range rotate(insts, round) {
				if ctx.Err() != nil {
					break
				}
				if !in.cfg.runsIn(m) {
					continue
				}
				r := in.measure(ctx, round, runParams{Messages: o.Messages, Sessions: o.Sessions, Mode: m, Idle: o.Idle})
				rep.Results = append(rep.Results, r)
				logRun(log, r)
			}
		}
	}
	rep.Summary = summarize(rep.Results)
	if len(rep.Problems) > 0 {
		return fmt.Errorf("%d configuration(s) could not run: %s", len(rep.Problems), strings.Join(rep.Problems, "; "))
	}
	return ctx.Err()
}

// prepare writes the rule set, the empty rules directory and the canonical map lines, and
// builds the pass-through milter.
func prepare(work string, o options) (shared, error) {
	sh := shared{work: work, milterLogLevel: o.MilterLogLevel}
	if o.MilterGOMAXPROCS > 0 {
		sh.milterEnv = []string{fmt.Sprintf("GOMAXPROCS=%d", o.MilterGOMAXPROCS)}
	}
	for _, c := range o.Configs {
		switch {
		case c.Floor:
			bin, err := buildFloor(work)
			if err != nil {
				return sh, err
			}
			sh.floorBin = bin
			continue // it reads only the listen address of its config file
		case c.Milter && c.Rules && sh.rulesDir != "":
			// (c), (f) and (g) share the rule set.
		case c.Milter && c.Rules:
			sh.rulesDir = filepath.Join(work, "rules")
			if err := writeNativeRules(sh.rulesDir, o.Rules); err != nil {
				return sh, err
			}
		case c.Milter:
			sh.emptyRulesDir = filepath.Join(work, "no-rules")
			if err := writeEmptyRules(sh.emptyRulesDir); err != nil {
				return sh, err
			}
		case c.Canonical:
			sh.senderMap, sh.recipientMap = canonicalMaps(o.Rules)
		}
		if c.Milter && sh.bin == "" {
			bin, err := filepath.Abs(o.Bin)
			if err != nil {
				return sh, err
			}
			if _, err := os.Stat(bin); err != nil {
				return sh, fmt.Errorf("edgerewrite binary for configurations (c) and (d): %w (run `make build`, or pass -bin, or -configs a,b)", err)
			}
			sh.bin = bin
		}
	}
	return sh, nil
}

// setUp starts one configuration's instance, verifies what it rewrites, switches to the
// counting sink and warms it up.
func setUp(ctx context.Context, cfg configuration, sh shared, o options, log *slog.Logger) (*instance, error) {
	t := time.Now()
	in, err := startInstance(cfg, sh)
	if err != nil {
		return nil, err
	}
	fail := func(what string, err error) (*instance, error) {
		in.stop()
		return nil, fmt.Errorf("configuration (%s) %s: %s: %w", cfg.Key, cfg.Name, what, err)
	}
	if err := in.verify(ctx, o.Idle); err != nil {
		return fail("verification", err)
	}
	if err := in.useCountingSink(); err != nil {
		return fail("counting sink", err)
	}
	if o.Warmup > 0 {
		r := in.measure(ctx, -1, runParams{Messages: o.Warmup, Sessions: o.Sessions, Mode: allModes[0], Idle: o.Idle})
		if !r.OK() {
			return fail("warm-up", r.Err)
		}
	}
	log.Info("configuration ready", "config", cfg.Key, "name", cfg.Name, "took", time.Since(t).Round(time.Millisecond))
	return in, nil
}

func logRun(log *slog.Logger, r runResult) {
	args := []any{"round", r.Round + 1, "mode", r.Mode.Key, "config", r.Config.Key, "msgs", r.Messages,
		"elapsed", r.Elapsed.Round(time.Millisecond), "msgs/s", fmt.Sprintf("%.1f", r.Rate),
		"busy", fmt.Sprintf("%.0f%%", 100*r.MachineBusy)}
	if r.Config.Milter {
		args = append(args, "milter_cpu_ms", fmt.Sprintf("%.3f", r.MilterCPUms()))
	}
	if !r.OK() {
		log.Error("run failed", append(args, "err", r.Err)...)
		return
	}
	log.Info("run", args...)
}

// rotate returns xs rotated left by n.
func rotate[T any](xs []T, n int) []T {
	if len(xs) == 0 {
		return nil
	}
	n %= len(xs)
	return append(append([]T(nil), xs[n:]...), xs[:n]...)
}
