package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/edgerewrite/edgerewrite/milter/config"

	"github.com/edgerewrite/edgerewrite/rewrite"
)

// checkOptions are the flags of check.
type checkOptions struct {
	cfgPath string
	// ci leaves out what only the target host can tell (socket directory, socket group), for a
	// build server that validates config and rules before they are deployed.
	ci bool
	// rulesDir, when set, is checked instead of the config's rules_dir.
	rulesDir string
}

func checkFlags(fs *flag.FlagSet) func(stdout, stderr io.Writer) int {
	var o checkOptions
	fs.StringVar(&o.cfgPath, "c", config.DefaultConfigPath, "the config `file`")
	fs.BoolVar(&o.ci, "ci", false, "validate config and rules only, without the checks of the host that serves (socket directory, socket group): for a build server before deploy")
	fs.StringVar(&o.rulesDir, "rules", "", "check the rules in `dir` instead of the config's rules_dir")
	return func(stdout, stderr io.Writer) int { return check(o, stdout, stderr) }
}

// check validates the config and every rule file, like `postfix check`: a summary on stdout,
// each problem on stderr as file:line, exit 1 when there is any. Warnings and notices (on
// stdout) do not fail it.
func check(o checkOptions, stdout, stderr io.Writer) int {
	var problems []error
	cfg, err := config.LoadConfig(o.cfgPath)
	for _, p := range config.Problems(err) {
		if o.rulesDir != "" && errors.Is(p, config.ErrBadRulesDir) {
			continue // the rules checked are elsewhere
		}
		problems = append(problems, p)
	}
	if cfg == nil {
		return report("edgerewrite check", stdout, stderr, problems)
	}
	if !o.ci {
		problems = append(problems, config.Problems(cfg.CheckHost())...)
	}
	printConfig(stdout, cfg)

	dir := cfg.RulesDir
	if o.rulesDir != "" {
		dir = o.rulesDir
	}
	table := rewrite.NewTable(rewrite.Options{RecipientDelimiter: cfg.Delimiter()})
	start := time.Now()
	stats, err := table.Load(dir)
	if err != nil {
		problems = append(problems, config.Problems(err)...)
	} else {
		printRules(stdout, dir, stats, time.Since(start))
		printNotices(stdout, stats.Notices)
		if p := cfg.Policy(); p != nil {
			printNotices(stdout, rewrite.OutsideOrganization(table.Snapshot().Rules(), p.IsOrgDomain))
		}
	}
	problems = append(problems, checkWaves(stdout, cfg, dir, time.Now())...)
	if p := cfg.Policy(); p != nil {
		for _, w := range p.Warnings() {
			fmt.Fprintf(stdout, "warning: %s\n", w)
		}
	}
	printDaemonStatus(stdout, cfg)
	return report("edgerewrite check", stdout, stderr, problems)
}

// printNotices prints each notice and warning of a rule load on a line of its own.
func printNotices(w io.Writer, ns []rewrite.Notice) {
	for _, n := range ns {
		fmt.Fprintln(w, n)
	}
}

// report prints every problem (one per line) and the verdict line of cmd, and returns the
// exit code. The verdict counts every problem, those a rule load counted without listing them
// ("and N more problems in this file") included.
func report(cmd string, stdout, stderr io.Writer, problems []error) int {
	total := 0
	for _, p := range problems {
		fmt.Fprintln(stderr, p)
		total += rewrite.ProblemCount(p)
	}
	switch total {
	case 0:
		fmt.Fprintln(stdout, cmd+": OK")
		return exitOK
	case 1:
		fmt.Fprintln(stderr, cmd+": 1 problem")
	default:
		fmt.Fprintf(stderr, "%s: %d problems\n", cmd, total)
	}
	return exitProblem
}

func printConfig(w io.Writer, cfg *config.Config) {
	fmt.Fprintf(w, "config %s\n", cfg.Path())
	listen := cfg.Listen
	if strings.HasPrefix(listen, "unix:") {
		group := cfg.SocketGroup
		if group == "" {
			group = config.DefaultSocketGroup + " if it exists"
		}
		listen += fmt.Sprintf(" (mode %s, group %s)", cfg.SocketMode, group)
	}
	metrics := cfg.MetricsListen
	if metrics == "" {
		metrics = "off"
	}
	fmt.Fprintf(w, "  listen %s\n  metrics and /healthz %s\n", listen, metrics)
	fmt.Fprintf(w, "  recipient_delimiter %q, rewrite_outbound_to_cc %t, inbound_header_rewrite %q, observe %t\n",
		cfg.Delimiter(), cfg.OutboundToCc(), cfg.InboundHeaderRewrite, cfg.Observe)
	fmt.Fprintf(w, "  log %s at %s\n", cfg.LogFormat, cfg.LogLevel)

	list := func(what string, names []string) {
		if len(names) == 0 {
			fmt.Fprintf(w, "  %s: none\n", what)
			return
		}
		fmt.Fprintf(w, "  %s (%d): %s\n", what, len(names), strings.Join(names, ", "))
	}
	var names []string
	for _, c := range cfg.Connectors {
		n := c.Name + " -> tenant " + c.Tenant
		if c.Observe {
			n += " (observe)"
		}
		names = append(names, n)
	}
	list("connectors", names)
	names = nil
	for _, t := range cfg.Tenants {
		names = append(names, t.Name+" ["+strings.Join(t.SenderDomains, " ")+"]")
	}
	list("tenants", names)
	names = nil
	for _, d := range cfg.Domains {
		u := d.Unresolved
		if u == "" {
			u = "reject"
		}
		if d.RouteTo != "" {
			u += " to " + d.RouteTo
		}
		names = append(names, d.Name+" unresolved "+u)
	}
	list("shared domains", names)
	names = nil
	for _, c := range cfg.Cutovers {
		n := c.Match + " " + c.Action
		if !c.Start.IsZero() || !c.End.IsZero() {
			n += fmt.Sprintf(" [%s, %s)", timeOrOpen(c.Start), timeOrOpen(c.End))
		}
		names = append(names, n)
	}
	list("cutovers", names)
	if len(cfg.Organization.Domains) > 0 {
		fmt.Fprintf(w, "  organization domains: %s\n", strings.Join(cfg.Organization.Domains, ", "))
	}
	if len(cfg.Organization.PilotSenders) > 0 {
		fmt.Fprintf(w, "  pilot senders: %s\n", strings.Join(cfg.Organization.PilotSenders, ", "))
	}
}

func timeOrOpen(t time.Time) string {
	if t.IsZero() {
		return "open"
	}
	return t.Format(time.RFC3339)
}

func printRules(w io.Writer, dir string, s rewrite.Stats, took time.Duration) {
	fmt.Fprintf(w, "rules %s: %s in %s (loaded in %.3fs)\n", dir, plural(s.Rules, "rule"), plural(len(s.ByFile), "file"), took.Seconds())
	fmt.Fprintf(w, "  fingerprint %s\n", s.Fingerprint)
	var kinds []string
	for _, k := range []rewrite.Kind{rewrite.KindAddress, rewrite.KindDomain, rewrite.KindWildcard} {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, s.ByKind[k]))
	}
	fmt.Fprintf(w, "  by kind: %s\n", strings.Join(kinds, ", "))
	for _, f := range slices.Sorted(maps.Keys(s.ByFile)) {
		name, err := filepath.Rel(dir, f)
		if err != nil {
			name = f
		}
		fmt.Fprintf(w, "  %-40s %d\n", name, s.ByFile[f])
	}
	if s.Rules == 0 {
		fmt.Fprintln(w, "warning: no rules: nothing will be rewritten")
	}
}

// plural is "1 rule", "2 rules".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
