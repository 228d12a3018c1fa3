package config

import (
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// keyLines maps each key path of a TOML document to the line it is written on, so that a
// problem found after decoding (a bad value, a policy error) can be reported at file:line.
// Paths look like "listen", "organization.domains", "connector[1].networks" (0-based index of
// the array of tables) and "connector[1]" for the table header itself. The document must have
// parsed; an expression that does not parse ends the scan.
func keyLines(doc []byte) map[string]int {
	lines := map[string]int{}
	counts := map[string]int{}
	prefix := ""
	var p unstable.Parser
	p.Reset(doc)
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			name, line := keyPath(&p, e.Key())
			if e.Kind == unstable.ArrayTable {
				i := counts[name]
				counts[name] = i + 1
				name += "[" + strconv.Itoa(i) + "]"
			}
			prefix = name
			setLine(lines, name, line)
		case unstable.KeyValue:
			name, line := keyPath(&p, e.Key())
			if prefix != "" {
				name = prefix + "." + name
			}
			setLine(lines, name, line)
		}
	}
	return lines
}

func setLine(lines map[string]int, path string, line int) {
	if _, ok := lines[path]; !ok && line > 0 {
		lines[path] = line
	}
}

// keyPath joins a dotted key and returns the line of its first part.
func keyPath(p *unstable.Parser, it unstable.Iterator) (string, int) {
	var parts []string
	line := 0
	for it.Next() {
		n := it.Node()
		if line == 0 {
			line = p.Shape(n.Raw).Start.Line
		}
		parts = append(parts, string(n.Data))
	}
	return strings.Join(parts, "."), line
}

// lineOf finds the line for a key path, falling back to its table ("connector[1].networks" ->
// "connector[1]" -> "connector[0]"), and 0 when nothing matches.
func lineOf(lines map[string]int, path string) int {
	for path != "" {
		if l, ok := lines[path]; ok {
			return l
		}
		if i := strings.LastIndexAny(path, ".["); i > 0 {
			path = path[:i]
			continue
		}
		break
	}
	return 0
}
