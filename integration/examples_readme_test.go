package integration

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// readmeCommand is one `edgerewrite test` command from a README's shell block, with what the
// comment line above it promises.
type readmeCommand struct {
	line    int
	args    []string
	comment string
}

// expectRefusedRE: a comment promising a refusal, deferral or hold (exit 2).
var expectRefusedRE = regexp.MustCompile(`\b(550|554|451|5\.7\.1|5\.1\.1)\b|exit 2|refused|held`)

// expectAddrRE: a comment promising an address the output must show ("becomes X").
var expectAddrRE = regexp.MustCompile(`(?:becomes?|go(?:es)? to|leaves? as)\s+([^\s,;:]+@[^\s,;:]+)`)

// TestExampleReadmeCommands runs every `edgerewrite test` command shown in the examples' READMEs
// against that folder's config and rules, and checks the exit code (2 where the comment above
// promises a refusal, deferral or hold, else 0) and the addresses the comment promises.
func TestExampleReadmeCommands(t *testing.T) {
	bin := harness.MustBuildEdgerewrite(t)
	folders, err := filepath.Glob(filepath.Join("..", "postfix-examples", "*", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, readme := range folders {
		dir, _ := filepath.Abs(filepath.Dir(readme))
		cmds := readmeCommands(t, readme)
		total += len(cmds)
		if len(cmds) == 0 {
			continue
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			doc, err := os.ReadFile(filepath.Join(dir, "edgerewrite.toml"))
			if err != nil {
				t.Fatal(err)
			}
			conf := filepath.Join(t.TempDir(), "edgerewrite.toml")
			doc = []byte(strings.ReplaceAll(string(doc), `"/etc/edgerewrite/rules"`, strconv.Quote(filepath.Join(dir, "rules"))))
			if err := os.WriteFile(conf, doc, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, c := range cmds {
				args := append([]string(nil), c.args...)
				for i := range args {
					if args[i] == "/etc/edgerewrite/edgerewrite.toml" {
						args[i] = conf
					}
				}
				out, err := exec.Command(bin, args...).CombinedOutput()
				code := 0
				if ee, ok := errors.AsType[*exec.ExitError](err); ok {
					code = ee.ExitCode()
				} else if err != nil {
					t.Fatal(err)
				}
				want := 0
				if expectRefusedRE.MatchString(c.comment) {
					want = 2
				}
				if code != want {
					t.Errorf("README.md:%d (%s): exit %d, want %d:\n%s", c.line, c.comment, code, want, out)
					continue
				}
				for _, m := range expectAddrRE.FindAllStringSubmatch(c.comment, -1) {
					if !strings.Contains(string(out), m[1]) {
						t.Errorf("README.md:%d (%s): output does not show %s:\n%s", c.line, c.comment, m[1], out)
					}
				}
			}
		})
	}
	if total < 10 {
		t.Errorf("found %d `edgerewrite test` commands in the READMEs, want every example's", total)
	}
}

// readmeCommands extracts the `edgerewrite test` commands of a README's fenced blocks, joining
// continuation lines and splitting the words as a POSIX shell would for these simple quotes.
func readmeCommands(t *testing.T, path string) []readmeCommand {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmds []readmeCommand
	var cur *readmeCommand
	var text, comment string
	inBlock := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(l, "```"):
			inBlock, comment = !inBlock, ""
			continue
		case !inBlock:
			continue
		case cur == nil && strings.HasPrefix(l, "#"):
			comment = strings.TrimSpace(strings.TrimPrefix(l, "#"))
			continue
		case cur == nil && strings.HasPrefix(l, "edgerewrite test "):
			cur, text = &readmeCommand{line: n, comment: comment}, ""
		case cur == nil:
			continue
		}
		more := strings.HasSuffix(l, `\`)
		text += " " + strings.TrimSuffix(l, `\`)
		if !more {
			cur.args = shellWords(t, strings.TrimSpace(text))[1:]
			cmds = append(cmds, *cur)
			cur, comment = nil, ""
		}
	}
	return cmds
}

// shellWords splits a command line at blanks outside single or double quotes and removes the
// quotes (no escapes or expansions: the READMEs use none inside quotes).
func shellWords(t *testing.T, s string) []string {
	var words []string
	var w strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			w.WriteByte(c)
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteByte(c)
			in = true
		}
	}
	if quote != 0 {
		t.Fatalf("unbalanced quote in %q", s)
	}
	if in {
		words = append(words, w.String())
	}
	return words
}
