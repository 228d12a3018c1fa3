package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// setupInfo is an instance's exact configuration, for the report: Postfix's `postconf -n`
// and the edgerewrite config file, with the per-run directories and ports replaced by
// INSTANCE, WORKDIR and SINKPORT.
type setupInfo struct {
	Config    configuration
	PostconfN []string
	Daemon    string // edgerewrite.toml ("" without a milter)
}

// describeSetup reads in's configuration.
func (in *instance) describeSetup(work string) (setupInfo, error) {
	info := setupInfo{Config: in.cfg}
	_, port, _ := strings.Cut(in.sinkAddr, ":")
	norm := strings.NewReplacer(in.pf.Dir, "INSTANCE", filepath.Base(in.pf.Dir), "INSTANCE", work, "WORKDIR",
		"127.0.0.1]:"+port, "127.0.0.1]:SINKPORT")
	out, err := in.pf.Command("postconf", "-n")
	if err != nil {
		return info, err
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		info.PostconfN = append(info.PostconfN, norm.Replace(l))
	}
	if in.daemon != nil {
		b, err := os.ReadFile(in.daemon.Config)
		if err != nil {
			return info, err
		}
		info.Daemon = norm.Replace(string(b))
	}
	return info, nil
}

// renderSetups shows the first configuration's `postconf -n` whole and, for the others, the
// lines that differ from it, then each distinct edgerewrite config.
func renderSetups(p printer, setups []setupInfo) {
	if len(setups) == 0 {
		return
	}
	base := setups[0]
	p("### Configuration as run")
	p("")
	p("`postconf -n` of (%s) %s:", base.Config.Key, base.Config.Name)
	p("")
	p("```")
	p("%s", strings.Join(base.PostconfN, "\n"))
	p("```")
	p("")
	for _, s := range setups[1:] {
		p("(%s) %s differs in: `%s`", s.Config.Key, s.Config.Name, strings.Join(notIn(s.PostconfN, base.PostconfN), "`, `"))
		p("")
	}
	var first *setupInfo
	for i, s := range setups {
		switch {
		case s.Daemon == "":
		case first == nil:
			first = &setups[i]
			p("edgerewrite.toml of (%s) %s:", s.Config.Key, s.Config.Name)
			p("")
			p("```toml")
			p("%s", strings.TrimSpace(s.Daemon))
			p("```")
			p("")
		default:
			diff := notIn(strings.Split(s.Daemon, "\n"), strings.Split(first.Daemon, "\n"))
			p("edgerewrite.toml of (%s) %s differs in: `%s`", s.Config.Key, s.Config.Name, strings.Join(diff, "`, `"))
			p("")
		}
	}
}

// notIn returns the lines of a that b lacks.
func notIn(a, b []string) []string {
	var out []string
	for _, l := range a {
		if !slices.Contains(b, l) {
			out = append(out, l)
		}
	}
	return out
}
