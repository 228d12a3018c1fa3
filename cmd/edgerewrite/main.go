// Command edgerewrite is an address-rewriting milter for Postfix: `serve` runs the daemon,
// `check` validates the config and rules, `test` shows what a message would become, `rules`
// lists, searches, exports and compares the rule set, `version` prints the version. Run `edgerewrite help` for the usage.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// version is set at build time: -ldflags '-X main.version=1.2.3'.
var version = "dev"

// Exit codes, documented in the usage text.
const (
	exitOK      = 0  // success; for test: the message would be accepted
	exitProblem = 1  // bad config or rules, a daemon failure
	exitRefused = 2  // test: the message would be refused, deferred or held
	exitUsage   = 64 // bad command line (sysexits EX_USAGE)
)

const usage = `edgerewrite: address-rewriting milter for Postfix

Usage:
  edgerewrite serve   [-c CONFIG]            run the milter daemon
  edgerewrite check   [-c CONFIG] [-ci] [-rules DIR]
                                             validate the config and every rule file
  edgerewrite rules   [-c CONFIG] [-rules DIR] [-json]
                      [-match ADDRESS|DOMAIN | -export native|csv | -diff OTHER_RULES_DIR]
                                             list, search, export or compare the rule set
  edgerewrite test    [-c CONFIG] FLAGS...   show what a message would become, and why
  edgerewrite version                        print the version
  edgerewrite help    [COMMAND]              this text, or the flags of one command

CONFIG is /etc/edgerewrite/edgerewrite.toml unless -c names another file.
Rule and config changes are picked up by a running daemon at once (and on SIGHUP).

Exit codes:
  0   success; for test: the message would be accepted
  1   a problem: bad config or rules (each printed as file:line), or the daemon failed
  2   test only: the message (or a recipient) would be refused, deferred or held
  64  bad command line
`

// command is one subcommand: its flags, and what it does with them.
type command struct {
	name    string
	summary string
	flags   func(fs *flag.FlagSet) func(stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"serve", "run the milter daemon", serveFlags},
		{"check", "validate the config and every rule file", checkFlags},
		{"test", "show what a message would become, and why", testFlags},
		{"rules", "list, search, export or compare the rule set", rulesFlags},
		{"version", "print the version", versionFlags},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command line: it parses args (without the program name) and returns the
// exit code. Tests call it directly.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			if c, ok := lookup(rest[0]); ok {
				fs := newFlagSet(c, stdout)
				c.flags(fs)
				fs.Usage()
				return exitOK
			}
			fmt.Fprintf(stderr, "edgerewrite: no command %q\n\n", rest[0])
			fmt.Fprint(stderr, usage)
			return exitUsage
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	c, ok := lookup(name)
	if !ok {
		fmt.Fprintf(stderr, "edgerewrite: no command %q\n\n", name)
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	fs := newFlagSet(c, stderr)
	do := c.flags(fs)
	if err := fs.Parse(rest); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "edgerewrite %s: unexpected argument %q\n", c.name, fs.Arg(0))
		return exitUsage
	}
	return do(stdout, stderr)
}

func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func newFlagSet(c command, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("edgerewrite "+c.name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: edgerewrite %s [flags]\n\n%s%s.\n\nFlags:\n", c.name,
			strings.ToUpper(c.summary[:1]), c.summary[1:])
		fs.PrintDefaults()
		if c.name == "test" {
			fmt.Fprint(out, testUsageNotes)
		}
	}
	return fs
}
