package rewrite

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// Rule benchmarks. Setup (writing the rule files) happens only inside Benchmark functions, so
// `go test` without -bench stays fast. The 1M ones take seconds per run:
//
//	go test -run '^$' -bench 'Load|Edit' -benchmem -benchtime 1x ./rewrite/
//	go test -run '^$' -bench 'Lookup' -benchmem ./rewrite/

// rulesPerFile is how the generated directories are split: a tenant migration keeps its
// per-user rules in batches, and an edit re-parses only the file it touches.
const rulesPerFile = 10_000

// writeRuleDir writes n bidirectional address rules (the tenant-to-tenant migration case)
// in files of rulesPerFile, plus a file of domain and wildcard rules.
func writeRuleDir(tb testing.TB, dir string, n int) {
	tb.Helper()
	for f := 0; f*rulesPerFile < n; f++ {
		writeRuleFile(tb, filepath.Join(dir, fmt.Sprintf("users-%04d.rules", f)), f*rulesPerFile, min(n, (f+1)*rulesPerFile), "")
	}
	mustWrite(tb, filepath.Join(dir, "domains.rules"), "# domains\n"+
		"tenanta.contoso.com contoso.com\n"+
		"*.tenantb.contoso.com contoso.com outbound-only except=legal.tenantb.contoso.com\n")
}

// writeRuleFile writes the address rules for users from..to-1; the user named in changed
// (if any) gets a different external address.
func writeRuleFile(tb testing.TB, path string, from, to int, changed string) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := from; i < to; i++ {
		u := fmt.Sprintf("user%07d", i)
		ext := "first.last" + u[4:]
		if u == changed {
			ext = "renamed." + u
		}
		fmt.Fprintf(w, "%s@tenanta.contoso.com %s@contoso.com\n", u, ext)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

func mustWrite(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// cpuTime is the CPU time (user + system) the process has used: on a shared machine it shows
// the work a benchmark does when wall time mostly shows the neighbours.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heapInuseMiB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapInuse) / (1 << 20)
}

func loadedTable(tb testing.TB, n int) (*Table, string) {
	tb.Helper()
	dir := tb.TempDir()
	writeRuleDir(tb, dir, n)
	t := NewTable(Options{RecipientDelimiter: "+"})
	if _, err := t.Load(dir); err != nil {
		tb.Fatal(err)
	}
	return t, dir
}

// BenchmarkLoad loads a fresh table from a directory of n rules (files of rulesPerFile) and
// reports runtime.MemStats.HeapInuse after a GC, with the table loaded, as MiB-heap-inuse.
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			writeRuleDir(b, dir, n)
			var t *Table
			b.ResetTimer()
			cpu := cpuTime(b)
			for range b.N {
				t = NewTable(Options{RecipientDelimiter: "+"})
				if _, err := t.Load(dir); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(cpuTime(b)-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
			b.ReportMetric(heapInuseMiB(), "MiB-heap-inuse")
			b.ReportMetric(float64(t.Snapshot().Stats().Rules), "rules")
		})
	}
}

// BenchmarkEdit changes one line of one file in a 1M-rule directory and reloads: the file is
// re-parsed, the whole set validated, the difference applied.
func BenchmarkEdit(b *testing.B) {
	const n = 1_000_000
	t, dir := loadedTable(b, n)
	path := filepath.Join(dir, "users-0042.rules")
	from := 42 * rulesPerFile
	var cpu time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		changed := ""
		if i%2 == 0 {
			changed = fmt.Sprintf("user%07d", from+1234)
		}
		writeRuleFile(b, path, from, from+rulesPerFile, changed)
		mtime := time.Now().Add(time.Duration(i+1) * time.Second)
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		before := cpuTime(b)
		st, err := t.Load(dir)
		cpu += cpuTime(b) - before
		if err != nil {
			b.Fatal(err)
		}
		if st.FilesParsed != 1 || st.Rules != n+2 {
			b.Fatalf("stats %+v", st)
		}
	}
	b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// BenchmarkLookup measures Snapshot.Rewrite at 1k, 100k and 1M rules.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		t, _ := loadedTable(b, n)
		s := t.Snapshot()
		cases := []struct {
			name, addr string
			d          Direction
		}{
			{"exact", fmt.Sprintf("user%07d@tenanta.contoso.com", n/2), Outbound},
			{"exact-extension", fmt.Sprintf("user%07d+tag@tenanta.contoso.com", n/2), Outbound},
			{"inbound-exact", fmt.Sprintf("first.last%07d@contoso.com", n/2), Inbound},
			{"domain", "nobody@tenanta.contoso.com", Outbound},
			{"wildcard", "someone@eu.sales.tenantb.contoso.com", Outbound},
			{"miss", "someone@example.org", Outbound},
		}
		for _, c := range cases {
			b.Run(fmt.Sprintf("%s/rules=%d", c.name, n), func(b *testing.B) {
				if _, _, ok := s.Rewrite(c.addr, c.d); !ok && c.name != "miss" {
					b.Fatalf("%s: no match", c.addr)
				}
				b.ReportAllocs()
				cpu := cpuTime(b)
				for b.Loop() {
					s.Rewrite(c.addr, c.d)
				}
				b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}
