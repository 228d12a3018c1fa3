// Command bench is `make bench`: the end-to-end load benchmark of edgerewrite against bare
// Postfix, Postfix's own canonical maps and a pass-through milter (the floor), driven by Postfix's smtp-source and smtp-sink, plus
// the Go benchmarks of the rule engine and the milter; it writes BENCHMARKS.md.
//
//	go run ./integration/bench -bin bin/edgerewrite -out BENCHMARKS.md
//
// It needs root and Postfix (make deps). See BENCHMARKS.md for what is measured and how.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// options are the driver's flags.
type options struct {
	Bin            string
	Out            string
	Rules          int
	Messages       int
	Sessions       int
	Rounds         int
	Warmup         int
	Configs        []configuration
	Modes          []mode
	GoBench        bool
	BenchTime      string
	MilterLogLevel string
	// MilterGOMAXPROCS is GOMAXPROCS in the environment of edgerewrite and the floor; 0 leaves
	// it unset (the Go runtime's default: the CPUs it may use).
	MilterGOMAXPROCS int
	Keep             bool
	Idle             time.Duration
	CommandLine      string // as the driver was invoked, for the report
}

func defaultOptions() options {
	return options{
		Bin: "bin/edgerewrite", Out: "BENCHMARKS.md", Rules: 100_000, Messages: 1500, Sessions: 20,
		Rounds: 3, Warmup: 200, Configs: allConfigurations, Modes: allModes, GoBench: true,
		BenchTime: "500ms", MilterLogLevel: "info", Idle: 30 * time.Second, MilterGOMAXPROCS: 1,
	}
}

func parseFlags(args []string) (options, error) {
	o := defaultOptions()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.Bin, "bin", o.Bin, "edgerewrite binary (make build writes bin/edgerewrite)")
	fs.StringVar(&o.Out, "out", o.Out, "report to write")
	fs.IntVar(&o.Rules, "rules", o.Rules, "address rules (and as many canonical map entries)")
	fs.IntVar(&o.Messages, "messages", o.Messages, "messages per run")
	fs.IntVar(&o.Sessions, "sessions", o.Sessions, "parallel smtp-source sessions")
	fs.IntVar(&o.Rounds, "rounds", o.Rounds, "rounds; each runs every configuration in every mode")
	fs.IntVar(&o.Warmup, "warmup", o.Warmup, "messages per configuration before the first round, not measured")
	configs := fs.String("configs", "a,b,c,d,e,f,g", "configurations: a bare, b canonical maps, c edgerewrite with rules, d edgerewrite without rules, e pass-through milter (the floor), f as c with a meeting invitation, g as c with calendar rewriting off (f and g: one connection per message only)")
	modes := fs.String("modes", "conn,reuse", "connection modes: conn (one per message), reuse (smtp-source -d)")
	fs.BoolVar(&o.GoBench, "gobench", o.GoBench, "also run the Go benchmarks of ./rewrite/ and ./milter/")
	fs.StringVar(&o.BenchTime, "benchtime", o.BenchTime, "go test -benchtime for the Go benchmarks")
	fs.StringVar(&o.MilterLogLevel, "milter-log-level", o.MilterLogLevel, "edgerewrite log_level (info logs a line per message, as in production)")
	fs.IntVar(&o.MilterGOMAXPROCS, "milter-gomaxprocs", o.MilterGOMAXPROCS, "GOMAXPROCS of edgerewrite and the floor (0: unset, the Go default); the default is what packaging/edgerewrite.service sets")
	fs.BoolVar(&o.Keep, "keep", false, "keep the work directory (rules, configs, logs)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var err error
	if o.Configs, err = parseConfigurations(*configs); err != nil {
		return o, err
	}
	if o.Modes, err = parseModes(*modes); err != nil {
		return o, err
	}
	if o.Messages < 1 || o.Sessions < 1 || o.Rounds < 1 || o.Warmup < 0 || o.MilterGOMAXPROCS < 0 {
		return o, errors.New("-messages, -sessions and -rounds must be at least 1, -warmup and -milter-gomaxprocs at least 0")
	}
	// smtp-source -N numbers recipients 1..3*messages; each needs its rule.
	if need := max(o.Messages, o.Warmup, verifyMessages) * rcptsPerMessage; o.Rules < need {
		return o, fmt.Errorf("-rules %d: the recipients of %d messages need at least %d rules", o.Rules, max(o.Messages, o.Warmup), need)
	}
	o.CommandLine = shellJoin(append([]string{"go", "run", "./integration/bench"}, args...))
	return o, nil
}

func parseModes(s string) ([]mode, error) {
	var out []mode
	for _, k := range strings.Split(s, ",") {
		found := false
		for _, m := range allModes {
			if m.Key == strings.TrimSpace(k) {
				out = append(out, m)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("-modes %q: unknown mode %q (want conn, reuse or both)", s, k)
		}
	}
	return out, nil
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		log.Error("bad arguments", "err", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, o, log)
	if rep != nil {
		if werr := writeReport(o.Out, rep); werr != nil {
			log.Error("writing the report", "file", o.Out, "err", werr)
			os.Exit(1)
		}
		log.Info("report written", "file", o.Out, "took", rep.Took.Round(time.Second))
	}
	if err != nil {
		log.Error("benchmark failed", "err", err)
		os.Exit(1)
	}
}
