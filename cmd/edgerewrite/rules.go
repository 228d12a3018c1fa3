package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/edgerewrite/edgerewrite/milter/config"
	"github.com/edgerewrite/edgerewrite/rewrite"
)

// rulesOptions are the flags of rules.
type rulesOptions struct {
	cfgPath  string
	rulesDir string
	json     bool
	match    string
	export   string
	diff     string
}

func rulesFlags(fs *flag.FlagSet) func(stdout, stderr io.Writer) int {
	var o rulesOptions
	fs.StringVar(&o.cfgPath, "c", config.DefaultConfigPath, "the config `file`")
	fs.StringVar(&o.rulesDir, "rules", "", "the rules in `dir` instead of the config's rules_dir")
	fs.BoolVar(&o.json, "json", false, "write JSON instead of a table (with -match and -diff too)")
	fs.StringVar(&o.match, "match", "", "every rule that could apply to `address-or-domain`, in either direction, in order of precedence, the winner marked")
	fs.StringVar(&o.export, "export", "", "write the whole rule set to stdout in `format` native or csv (the CSV that Import-Csv | New-AddressRewriteEntry takes)")
	fs.StringVar(&o.diff, "diff", "", "rules added, removed and changed if the rules in `dir` replaced these, with the addresses whose rewrite changes")
	return func(stdout, stderr io.Writer) int { return rules(o, stdout, stderr) }
}

// rules lists, searches, exports or compares the rule set, as Get-AddressRewriteEntry did.
func rules(o rulesOptions, stdout, stderr io.Writer) int {
	modes := 0
	for _, set := range []bool{o.match != "", o.export != "", o.diff != ""} {
		if set {
			modes++
		}
	}
	if modes > 1 {
		fmt.Fprintln(stderr, "edgerewrite rules: give one of -match, -export and -diff")
		return exitUsage
	}
	if o.export != "" && o.export != "native" && o.export != "csv" {
		fmt.Fprintf(stderr, "edgerewrite rules: -export %q: use native or csv\n", o.export)
		return exitUsage
	}
	cfg, err := config.LoadConfig(o.cfgPath)
	if cfg == nil {
		return report("edgerewrite rules", stdout, stderr, config.Problems(err))
	}
	var problems []error
	for _, p := range config.Problems(err) {
		if o.rulesDir == "" || !errors.Is(p, config.ErrBadRulesDir) {
			problems = append(problems, p)
		}
	}
	dir := cfg.RulesDir
	if o.rulesDir != "" {
		dir = o.rulesDir
	}
	opts := rewrite.Options{RecipientDelimiter: cfg.Delimiter()}
	snap, err := loadRules(opts, dir)
	if err != nil {
		return report("edgerewrite rules", stdout, stderr, append(problems, config.Problems(err)...))
	}
	// A config problem (say, a bad listen address) does not stop a look at the rules. The
	// notices and warnings of the rules go to stderr, so stdout stays the listing or export.
	for _, p := range problems {
		fmt.Fprintf(stderr, "warning: %v\n", p)
	}
	printNotices(stderr, snap.Stats().Notices)
	if p := cfg.Policy(); p != nil {
		printNotices(stderr, rewrite.OutsideOrganization(snap.Rules(), p.IsOrgDomain))
	}
	switch {
	case o.match != "":
		return rulesMatch(o, snap, stdout, stderr)
	case o.export != "":
		return rulesExport(o, snap, stdout, stderr)
	case o.diff != "":
		other, err := loadRules(opts, o.diff)
		if err != nil {
			return report("edgerewrite rules", stdout, stderr, config.Problems(err))
		}
		return rulesDiff(o, dir, snap, other, stdout)
	}
	return rulesList(o, dir, snap, stdout)
}

func loadRules(opts rewrite.Options, dir string) (*rewrite.Snapshot, error) {
	t := rewrite.NewTable(opts)
	if _, err := t.Load(dir); err != nil {
		return nil, err
	}
	return t.Snapshot(), nil
}

// jsonRule is a rule as `rules -json` writes it.
type jsonRule struct {
	File         string   `json:"file"`
	Line         int      `json:"line"`
	Name         string   `json:"name,omitempty"`
	Kind         string   `json:"kind"`
	Internal     string   `json:"internal"`
	External     string   `json:"external"`
	OutboundOnly bool     `json:"outbound_only"`
	Exceptions   []string `json:"exceptions,omitempty"`
}

func toJSONRule(r *rewrite.Rule) *jsonRule {
	if r == nil {
		return nil
	}
	return &jsonRule{File: r.Pos.File, Line: r.Pos.Line, Name: r.Name, Kind: r.Kind.String(), Internal: r.Internal,
		External: r.External, OutboundOnly: r.OutboundOnly, Exceptions: r.Exceptions}
}

// writeJSON writes v indented; the only error is one of writing (a closed pipe).
func writeJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return exitProblem
	}
	return exitOK
}

// directions is "both" or "outbound-only", as the table shows it.
func directions(r *rewrite.Rule) string {
	if r.OutboundOnly {
		return "outbound-only"
	}
	return "both"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// rulesList prints every rule as loaded.
func rulesList(o rulesOptions, dir string, snap *rewrite.Snapshot, w io.Writer) int {
	if o.json {
		out := struct {
			RulesDir    string      `json:"rules_dir"`
			Fingerprint string      `json:"fingerprint"`
			Rules       []*jsonRule `json:"rules"`
		}{RulesDir: dir, Fingerprint: snap.Fingerprint(), Rules: []*jsonRule{}}
		for r := range snap.Rules() {
			out.Rules = append(out.Rules, toJSONRule(r))
		}
		return writeJSON(w, out)
	}
	fmt.Fprintf(w, "rules %s: %s, fingerprint %s\n", dir, plural(snap.Stats().Rules, "rule"), snap.Fingerprint())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WHERE\tKIND\tINTERNAL\tEXTERNAL\tDIRECTIONS\tEXCEPTIONS\tNAME")
	for r := range snap.Rules() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Pos, r.Kind, r.Internal, r.External, directions(r),
			orDash(strings.Join(r.Exceptions, ",")), orDash(r.Name))
	}
	tw.Flush()
	return exitOK
}

// rulesMatch prints the rules that could apply to an address or domain.
func rulesMatch(o rulesOptions, snap *rewrite.Snapshot, w, stderr io.Writer) int {
	cs, err := snap.Match(o.match)
	if err != nil {
		fmt.Fprintf(stderr, "edgerewrite rules: -match: %v\n", err)
		return exitUsage
	}
	if o.json {
		type jsonCandidate struct {
			Direction string    `json:"direction"`
			How       string    `json:"how"`
			Winner    bool      `json:"winner"`
			Excepted  bool      `json:"excepted,omitempty"`
			Result    string    `json:"result,omitempty"`
			Rule      *jsonRule `json:"rule"`
		}
		out := struct {
			Query       string          `json:"query"`
			Fingerprint string          `json:"fingerprint"`
			Candidates  []jsonCandidate `json:"candidates"`
		}{Query: o.match, Fingerprint: snap.Fingerprint(), Candidates: []jsonCandidate{}}
		for _, c := range cs {
			out.Candidates = append(out.Candidates, jsonCandidate{Direction: c.Direction.String(), How: c.How, Winner: c.Winner,
				Excepted: c.Excepted, Result: c.Result, Rule: toJSONRule(c.Rule)})
		}
		return writeJSON(w, out)
	}
	fmt.Fprintf(w, "rules that could apply to %s (fingerprint %s), in order of precedence; * marks the one that does\n", o.match, snap.Fingerprint())
	for _, d := range []rewrite.Direction{rewrite.Outbound, rewrite.Inbound} {
		fmt.Fprintf(w, "%s:\n", d)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		n := 0
		for _, c := range cs {
			if c.Direction != d {
				continue
			}
			n++
			mark, note := " ", ""
			switch {
			case c.Winner:
				mark, note = "*", "-> "+c.Result
			case c.Excepted:
				note = "(excepted: does not apply)"
			case c.How == "address of the domain":
				note = "(for that address only)"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s -> %s\t%s\t%s\n", mark, c.How, c.Rule.Pos, c.Rule.Internal, c.Rule.External, directions(c.Rule), note)
		}
		tw.Flush()
		if n == 0 {
			fmt.Fprintln(w, "  no rule: not rewritten")
		}
	}
	return exitOK
}

// rulesExport writes the whole set to stdout, and on stderr how to import it on Exchange.
func rulesExport(o rulesOptions, snap *rewrite.Snapshot, w, stderr io.Writer) int {
	rs := slices.Collect(func(yield func(rewrite.Rule) bool) {
		for r := range snap.Rules() {
			if !yield(*r) {
				return
			}
		}
	})
	var err error
	if o.export == "csv" {
		err = rewrite.WriteCSV(w, rs)
	} else {
		err = rewrite.WriteNative(w, rs)
	}
	if err != nil {
		fmt.Fprintf(stderr, "edgerewrite rules: -export %s: %v\n", o.export, err)
		return exitProblem
	}
	fmt.Fprintf(stderr, "exported %s, fingerprint %s\n", plural(len(rs), "rule"), snap.Fingerprint())
	if o.export == "csv" {
		fmt.Fprintf(stderr, "to create them on an Exchange Edge Transport server:\n  %s\n", rewrite.ImportCommand)
	}
	return exitOK
}

// rulesDiff prints what changes if the rules of other replaced those of dir.
func rulesDiff(o rulesOptions, dir string, cur, other *rewrite.Snapshot, w io.Writer) int {
	changes := rewrite.Diff(cur, other)
	if o.json {
		type jsonEffect struct {
			Direction string `json:"direction"`
			Address   string `json:"address"`
			Old       string `json:"old"`
			New       string `json:"new"`
		}
		type jsonChange struct {
			Change  string       `json:"change"`
			Old     *jsonRule    `json:"old,omitempty"`
			New     *jsonRule    `json:"new,omitempty"`
			Effects []jsonEffect `json:"effects"`
		}
		out := struct {
			Old      string       `json:"old_rules_dir"`
			New      string       `json:"new_rules_dir"`
			OldPrint string       `json:"old_fingerprint"`
			NewPrint string       `json:"new_fingerprint"`
			Changes  []jsonChange `json:"changes"`
		}{Old: dir, New: o.diff, OldPrint: cur.Fingerprint(), NewPrint: other.Fingerprint(), Changes: []jsonChange{}}
		for _, c := range changes {
			jc := jsonChange{Change: changeKind(c), Old: toJSONRule(c.Old), New: toJSONRule(c.New), Effects: []jsonEffect{}}
			for _, e := range c.Effects {
				jc.Effects = append(jc.Effects, jsonEffect{Direction: e.Direction.String(), Address: e.Address, Old: e.Old, New: e.New})
			}
			out.Changes = append(out.Changes, jc)
		}
		return writeJSON(w, out)
	}
	fmt.Fprintf(w, "from %s (fingerprint %s)\n  to %s (fingerprint %s): %s\n", dir, cur.Fingerprint(), o.diff, other.Fingerprint(), plural(len(changes), "change"))
	for _, c := range changes {
		switch changeKind(c) {
		case "added":
			fmt.Fprintf(w, "+ %s  %s -> %s %s\n", c.New.Pos, c.New.Internal, c.New.External, directions(c.New))
		case "removed":
			fmt.Fprintf(w, "- %s  %s -> %s %s\n", c.Old.Pos, c.Old.Internal, c.Old.External, directions(c.Old))
		default:
			fmt.Fprintf(w, "~ %s  %s -> %s %s\n    was %s  %s -> %s %s\n", c.New.Pos, c.New.Internal, c.New.External, directions(c.New),
				c.Old.Pos, c.Old.Internal, c.Old.External, directions(c.Old))
		}
		for _, e := range c.Effects {
			fmt.Fprintf(w, "    %-8s %s: %s, was %s\n", e.Direction, e.Address, resultText(e.Address, e.New), resultText(e.Address, e.Old))
		}
	}
	return exitOK
}

// resultText is what addr becomes, or "not rewritten".
func resultText(addr, result string) string {
	if result == addr {
		return "not rewritten"
	}
	return result
}

func changeKind(c rewrite.RuleChange) string {
	switch {
	case c.Old == nil:
		return "added"
	case c.New == nil:
		return "removed"
	}
	return "changed"
}
