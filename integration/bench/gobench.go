package main

import (
	"bytes"
	"context"
	"maps"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// goBench is the Go benchmark layer: one `go test -bench` over the rule engine and the milter.
type goBench struct {
	Command string
	Output  string
	Elapsed time.Duration
	Err     error
	// Results by benchmark name without the -GOMAXPROCS suffix: unit -> value
	// ("ns/op", "B/op", "allocs/op", "MiB-heap", ...).
	Results map[string]map[string]float64
}

// goBenchPackages are the packages whose benchmarks BENCHMARKS.md reports.
var goBenchPackages = []string{"./rewrite/", "./milter/"}

// goBenchArgs is the go test command line. -benchtime bounds each benchmark's timed loop;
// the 1M-rule Load and Edit benchmarks take longer than that for one iteration, so they run
// once or a few times, and their set-up (writing and loading 1M rules) adds to the total.
func goBenchArgs(benchtime string) []string {
	return append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", benchtime, "-timeout", "20m"}, goBenchPackages...)
}

// runGoBench runs the Go benchmarks in the module root dir and parses their output.
func runGoBench(ctx context.Context, dir, benchtime string) goBench {
	args := goBenchArgs(benchtime)
	g := goBench{Command: shellJoin(append([]string{"go"}, args...))}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	g.Err = cmd.Run()
	g.Elapsed = time.Since(start)
	g.Output = out.String()
	g.Results = parseGoBench(g.Output)
	return g
}

var benchLineRE = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+(.*)$`)

// parseGoBench reads the result lines: "BenchmarkX-2  1000  123 ns/op  45 B/op  ...".
func parseGoBench(out string) map[string]map[string]float64 {
	res := map[string]map[string]float64{}
	for _, line := range strings.Split(out, "\n") {
		m := benchLineRE.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		f := strings.Fields(m[3])
		metrics := map[string]float64{}
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			metrics[f[i+1]] = v
		}
		if len(metrics) > 0 {
			res[m[1]] = metrics
		}
	}
	return res
}

// keyFigure is one row of the key-figures table: a benchmark, a metric and how to show it.
// A Unit ending in "*" matches the first reported unit it is a prefix of.
type keyFigure struct {
	Label, Bench, Unit string
	Scale              float64 // the value is divided by Scale
	Shown              string  // unit shown
}

var keyFigures = []keyFigure{
	{"lookup, exact address, 1k rules", "BenchmarkLookup/exact/rules=1000", "ns/op", 1, "ns"},
	{"lookup, exact address, 100k rules", "BenchmarkLookup/exact/rules=100000", "ns/op", 1, "ns"},
	{"lookup, exact address, 1M rules", "BenchmarkLookup/exact/rules=1000000", "ns/op", 1, "ns"},
	{"lookup, inbound, 1M rules", "BenchmarkLookup/inbound-exact/rules=1000000", "ns/op", 1, "ns"},
	{"lookup allocations, 1M rules", "BenchmarkLookup/exact/rules=1000000", "allocs/op", 1, "allocs"},
	{"load 1M rules", "BenchmarkLoad/rules=1000000", "ns/op", 1e9, "s"},
	{"heap after loading 1M rules", "BenchmarkLoad/rules=1000000", "MiB-heap*", 1, "MiB"},
	{"one-line edit in a 1M-rule directory, reload", "BenchmarkEdit", "ns/op", 1e6, "ms"},
	{"one-line edit in one 1M-line native file, reload", "BenchmarkEditOneFile/native", "ns/op", 1e6, "ms"},
	{"one-line edit in one 1M-line native file, CPU", "BenchmarkEditOneFile/native", "cpu-ms/op", 1, "ms"},
	{"one-line edit in one 1M-line CSV file, reload", "BenchmarkEditOneFile/csv", "ns/op", 1e6, "ms"},
	{"one-line edit in one 1M-line CSV file, CPU", "BenchmarkEditOneFile/csv", "cpu-ms/op", 1, "ms"},
	{"header rewrite, one address", "BenchmarkRewriteAddressList/one", "ns/op", 1, "ns"},
	{"header rewrite, one address, allocations", "BenchmarkRewriteAddressList/one", "allocs/op", 1, "allocs"},
	{"rewrite plan of a typical message (real table)", "BenchmarkComputeSnapshot", "ns/op", 1, "ns"},
	{"rewrite plan allocations", "BenchmarkComputeSnapshot", "allocs/op", 1, "allocs"},
	{"milter session (connect to end of message)", "BenchmarkSession", "ns/op", 1, "ns"},
	{"milter session allocations", "BenchmarkSession", "allocs/op", 1, "allocs"},
	{"milter session bytes", "BenchmarkSession", "B/op", 1, "B"},
}

// value returns the key figure from g, scaled, the unit it was reported in, and whether the
// output had it.
func (k keyFigure) value(g goBench) (float64, string, bool) {
	m, ok := g.Results[k.Bench]
	if !ok {
		return 0, "", false
	}
	if prefix, ok := strings.CutSuffix(k.Unit, "*"); ok {
		for _, u := range slices.Sorted(maps.Keys(m)) {
			if strings.HasPrefix(u, prefix) {
				return m[u] / k.Scale, u, true
			}
		}
		return 0, "", false
	}
	v, ok := m[k.Unit]
	return v / k.Scale, k.Unit, ok
}

// shellJoin renders a command line that a POSIX shell runs as these arguments.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,@+", r))
		}) {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}
