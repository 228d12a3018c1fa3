package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// Tests of the driver's parts that need no Postfix.

func TestMessageSize(t *testing.T) {
	for _, v := range []messageVariant{toCcInternal, toCcExternal, calendarInvite} {
		text := messageText(v)
		wire := len(strings.ReplaceAll(text, "\n", "\r\n"))
		if wire != messageSize {
			t.Errorf("variant %d: %d bytes on the wire, want %d", v, wire, messageSize)
		}
		if strings.Contains(text, "\n.") {
			t.Errorf("variant %d: a line starts with a dot", v)
		}
	}
}

func TestCheckDump(t *testing.T) {
	cfg := map[string]configuration{}
	for _, c := range allConfigurations {
		cfg[c.Key] = c
	}
	tests := []struct {
		dump, config string
		wantErr      string // "" = passes
	}{
		{"a.txt", "a", ""},
		{"b.txt", "b", ""},
		{"c.txt", "c", ""},
		{"d.txt", "d", ""},
		{"d.txt", "c", "envelope sender"},         // nothing rewritten where (c) must rewrite
		{"b.txt", "c", "To"},                      // canonical maps rewrite To/Cc the other way
		{"c.txt", "a", "envelope recipient"},      // rewritten where (a) must not
		{"a.txt", "b", `envelope sender "<7user`}, // the message names the bad value
	}
	for _, tt := range tests {
		t.Run(tt.dump+"/"+tt.config, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", "dump", tt.dump))
			if err != nil {
				t.Fatal(err)
			}
			err = checkDump(raw, cfg[tt.config].expected())
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("no error, want one containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

// calendarDump is the (c) dump of testdata with the meeting invitation for its content: its
// headers as relayed, the calendar part's addresses by addr.
func calendarDump(t *testing.T, addr func(int) string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "dump", "c.txt"))
	if err != nil {
		t.Fatal(err)
	}
	head, _, ok := strings.Cut(string(raw), "\n\n")
	if !ok {
		t.Fatal("c.txt has no body")
	}
	head = strings.Replace(head, "Content-Type: text/plain; charset=\"us-ascii\"\nContent-Transfer-Encoding: 7bit",
		"Content-Type: multipart/alternative;\n\tboundary=\""+calendarBoundary+"\"", 1)
	_, body, _ := strings.Cut(messageText(calendarInvite), "\n\n")
	body = strings.Replace(body, strings.Join(calendarPart(internalAddr), "\n"), strings.Join(calendarPart(addr), "\n"), 1)
	return []byte(head + "\n\n" + body)
}

// TestCheckCalendarDump: the meeting invitation passes (f)'s check only with every ORGANIZER
// and ATTENDEE rewritten; the plain message fails it.
func TestCheckCalendarDump(t *testing.T) {
	var f configuration
	for _, c := range allConfigurations {
		if c.Calendar {
			f = c
		}
	}
	if err := checkDump(calendarDump(t, externalAddr), f.expected()); err != nil {
		t.Errorf("rewritten invitation: %v", err)
	}
	if err := checkDump(calendarDump(t, internalAddr), f.expected()); err == nil || !strings.Contains(err.Error(), "calendar ORGANIZER") {
		t.Errorf("invitation not rewritten: error %v, want one naming the calendar", err)
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "dump", "c.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkDump(raw, f.expected()); err == nil || !strings.Contains(err.Error(), "multipart") {
		t.Errorf("plain message: error %v, want one saying it is not multipart", err)
	}
	ics, err := calendarData(`multipart/alternative; boundary="`+calendarBoundary+`"`, []byte(strings.SplitN(messageText(calendarInvite), "\n\n", 2)[1]))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(ics, "\r\n") {
		if len(l) > 75 {
			t.Errorf("calendar line of %d octets: %q", len(l), l)
		}
	}
	if !strings.Contains(ics, "\r\n ") || !strings.Contains(ics, "METHOD:REQUEST") {
		t.Errorf("calendar part has no folded line or no METHOD:REQUEST:\n%s", ics)
	}
}

func TestReadLog(t *testing.T) {
	tests := []struct {
		file                                       string
		sent, deferred, rejected, issues, warnings int
		ok                                         bool
	}{
		{"clean.log", 9, 0, 0, 0, 0, true},
		// A warning that loses no mail is kept apart and does not fail the run.
		{"warning.log", 9, 0, 0, 0, 1, true},
		// The last line has no line end yet: not read. The milter warning is a problem.
		{"problems.log", 3, 1, 1, 3, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "maillog", tt.file)
			c, off, err := readLog(path, 0)
			if err != nil {
				t.Fatal(err)
			}
			if c.Sent != tt.sent || c.Deferred != tt.deferred || c.Rejected != tt.rejected || c.ProblemCount != tt.issues || c.WarningCount != tt.warnings {
				t.Errorf("counts %s, want sent=%d deferred=%d rejected=%d problems=%d warnings=%d", c, tt.sent, tt.deferred, tt.rejected, tt.issues, tt.warnings)
			}
			if c.ok(tt.sent) != tt.ok {
				t.Errorf("ok(%d) = %v, want %v", tt.sent, !tt.ok, tt.ok)
			}
			var merged logCounts
			merged.merge(c)
			merged.merge(c)
			if merged.Sent != 2*c.Sent || merged.ProblemCount != 2*c.ProblemCount || merged.WarningCount != 2*c.WarningCount {
				t.Errorf("merged twice: %s", merged)
			}
			raw, _ := os.ReadFile(path)
			if i := strings.LastIndexByte(string(raw), '\n'); off != int64(i+1) {
				t.Errorf("offset %d, want %d (after the last whole line)", off, i+1)
			}
			again, off2, _ := readLog(path, off)
			if again.Sent != 0 || off2 != off {
				t.Errorf("reading again from %d: %s, offset %d", off, again, off2)
			}
		})
	}
}

func TestReadDaemonLog(t *testing.T) {
	path := filepath.Join("testdata", "daemonlog", "sample.log")
	c, off, err := readDaemonLog(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.ProblemCount != 1 || !strings.Contains(c.Problems[0], "broken pipe") {
		t.Errorf("problems %q, want the ERROR line", c.Problems)
	}
	if c.WarningCount != 1 || !strings.Contains(c.Warnings[0], "level=WARN") {
		t.Errorf("warnings %q, want the WARN line", c.Warnings)
	}
	if fi, _ := os.Stat(path); off != fi.Size() {
		t.Errorf("offset %d, want %d", off, fi.Size())
	}
}

func TestParseGoBench(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "gobench", "output.txt"))
	if err != nil {
		t.Fatal(err)
	}
	g := goBench{Results: parseGoBench(string(raw))}
	tests := []struct {
		bench, unit string
		want        float64
	}{
		{"BenchmarkLoad/rules=1000000", "MiB-heap-inuse", 812.5},
		{"BenchmarkLoad/rules=1000000", "ns/op", 3812345678},
		{"BenchmarkEdit", "ns/op", 61234567},
		{"BenchmarkLookup/exact/rules=1000", "ns/op", 789},
		{"BenchmarkLookup/exact/rules=1000000", "allocs/op", 5},
		{"BenchmarkSession", "B/op", 23456},
	}
	for _, tt := range tests {
		if got := g.Results[tt.bench][tt.unit]; got != tt.want {
			t.Errorf("%s %s = %v, want %v", tt.bench, tt.unit, got, tt.want)
		}
	}
	load := keyFigure{Bench: "BenchmarkLoad/rules=1000000", Unit: "ns/op", Scale: 1e9}
	if v, _, ok := load.value(g); !ok || math.Abs(v-3.812345678) > 1e-9 {
		t.Errorf("load key figure = %v, %v", v, ok)
	}
	heap := keyFigure{Bench: "BenchmarkLoad/rules=1000000", Unit: "MiB-heap*", Scale: 1}
	if v, unit, ok := heap.value(g); !ok || v != 812.5 || unit != "MiB-heap-inuse" {
		t.Errorf("heap key figure (unit prefix) = %v %q, %v", v, unit, ok)
	}
	if _, _, ok := (keyFigure{Bench: "BenchmarkNone", Unit: "ns/op", Scale: 1}).value(g); ok {
		t.Error("a missing benchmark has a value")
	}
}

func TestProcCPU(t *testing.T) {
	d, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if d < 0 || d > time.Hour {
		t.Errorf("own CPU time %v", d)
	}
	if _, err := procCPU(-1); err == nil {
		t.Error("no error for pid -1")
	}
	m, err := readMachineCPU()
	if err != nil || m.total <= 0 || m.busy > m.total {
		t.Errorf("machine CPU %+v, %v", m, err)
	}
}

func TestSummarize(t *testing.T) {
	cfg := map[string]configuration{}
	for _, c := range allConfigurations {
		cfg[c.Key] = c
	}
	conn := allModes[0]
	rates := [][5]float64{ // per round: a, b, c, d, e
		{200, 180, 171, 180, 190},
		{100, 90, 81, 90, 100}, // a slow round: ratios stay
		{210, 190, 190, 190, 200},
	}
	var rs []runResult
	for round, r := range rates {
		for i, k := range []string{"a", "b", "c", "d", "e"} {
			rs = append(rs, runResult{Round: round, Config: cfg[k], Mode: conn, Messages: 100, Rate: r[i], MilterCPU: 50 * time.Millisecond})
		}
	}
	rs = append(rs, runResult{Round: 3, Config: cfg["c"], Mode: conn, Messages: 100, Err: errors.New("lost")})
	s := summarize(rs)
	if c := s.cells["conn/c"]; c.Rate != 171 || c.OK != 3 || c.Failed != 1 || c.MilterCPU != 0.5 {
		t.Errorf("cell c = %+v", c)
	}
	if v, _ := s.ratio(conn, "b"); math.Abs(v-0.95) > 1e-9 {
		t.Errorf("(c)/(b) = %v, want 0.95 (median of per-round ratios)", v)
	}
	if v, _ := s.ratioOf(conn, "c", "e"); math.Abs(v-0.9) > 1e-9 {
		t.Errorf("(c)/(e) = %v, want 0.9", v)
	}
	if v, _ := s.ratioOf(conn, "d", "e"); math.Abs(v-180.0/190) > 1e-9 {
		t.Errorf("(d)/(e) = %v, want 180/190 (round 1)", v)
	}
	if _, ok := s.ratio(allModes[1], "b"); ok {
		t.Error("a ratio for a mode that did not run")
	}
}

func TestParseConfigurations(t *testing.T) {
	tests := []struct {
		in   string
		keys string
		err  bool
	}{
		{"a,b,c,d,e", "abcde", false},
		{"c, a", "ca", false},
		{"a,a", "a", false},
		{"e,c", "ec", false},
		{"a,b,c,d,e,f,g", "abcdefg", false},
		{"h", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		cs, err := parseConfigurations(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("%q: error %v, want error %v", tt.in, err, tt.err)
			continue
		}
		var keys string
		for _, c := range cs {
			keys += c.Key
		}
		if keys != tt.keys {
			t.Errorf("%q: %q, want %q", tt.in, keys, tt.keys)
		}
	}
}

func TestShellJoin(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"go", "test", "-run", "^$", "./rewrite/"}, "go test -run '^$' ./rewrite/"},
		{[]string{"a b", "it's", "", "-x=1,2"}, `'a b' 'it'\''s' '' -x=1,2`},
	}
	for _, tt := range tests {
		if got := shellJoin(tt.args); got != tt.want {
			t.Errorf("shellJoin(%q) = %s, want %s", tt.args, got, tt.want)
		}
	}
}

func TestStaleWorkDirs(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	// A directory of a process that is gone (PID 1's start time never matches "0"), one of a
	// running process, and this run's.
	stale := filepath.Join(os.TempDir(), workPrefix+"1-0-123")
	start, err := harness.ProcStart(1)
	if err != nil {
		t.Fatal(err)
	}
	live := filepath.Join(os.TempDir(), workPrefix+"1-"+start+"-456")
	for _, d := range []string{stale, live} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	dir, err := makeWorkDir()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale work directory kept: %v", err)
	}
	for _, d := range []string{live, dir} {
		if fi, err := os.Stat(d); err != nil {
			t.Errorf("%s: %v", d, err)
		} else if d == dir && fi.Mode().Perm() != 0o755 {
			t.Errorf("work directory mode %v, want 0755", fi.Mode().Perm())
		}
	}
}

// TestRenderSummary checks that every row of the results table has the header's columns and
// that the floor's figures are in it.
func TestRenderSummary(t *testing.T) {
	var rs []runResult
	for _, m := range allModes {
		for i, c := range allConfigurations {
			if c.runsIn(m) {
				rs = append(rs, runResult{Config: c, Mode: m, Messages: 100, Rate: float64(100 + i), MilterCPU: time.Duration(i+1) * 10 * time.Millisecond})
			}
		}
	}
	o := defaultOptions()
	o.Rounds = 1
	var b strings.Builder
	renderSummary(func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }, &report{Opts: o, Summary: summarize(rs)})
	out := b.String()
	if strings.Contains(out, "%!") {
		t.Fatalf("bad format in:\n%s", out)
	}
	if strings.Contains(out, "connection reuse (smtp-source -d) | 102.0 | —") {
		t.Errorf("a calendar row for a mode (f) and (g) do not run in:\n%s", out)
	}
	var cols int
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "|") {
			cols = 0 // the next table
			continue
		}
		if n := strings.Count(l, "|"); cols == 0 {
			cols = n
		} else if n != cols {
			t.Errorf("%d columns, header has %d: %s", n, cols, l)
		}
	}
	// (c) 102 msgs/s, (e) 104: (c)/(e) 0.981; CPU (c) 0.3 ms, (e) 0.5 ms per message.
	// (f) 105, (g) 106 in one connection per message only: (f)/(c) 1.029, (c)/(g) 0.962.
	for _, want := range []string{"| 104.0 |", "| 0.981 |", "| 0.300 | 0.400 | 0.500 |", "(c)/(e) 0.981 (met)", "-0.200 ms against (e) (met)",
		"| one connection per message | 102.0 | 105.0 | 106.0 | 1.029 | 0.962 | 0.300 | 0.600 | 0.700 |", "(c)/(g) 0.962 (**not met**)"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}
