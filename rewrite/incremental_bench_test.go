package rewrite

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// bigFileLines is the size of the one-file benchmarks: an Exchange export of a whole
// organisation arrives as one file.
const bigFileLines = 1_000_000

// bigRuleFile returns a rule file of n address rules, native or CSV (as Export-Csv writes it:
// a #TYPE line, a header, every field quoted), and the same file with the rule of user
// changedUser given another external address.
func bigRuleFile(format string, n, changedUser int) (orig, edited []byte) {
	var a, b bytes.Buffer
	if format == "csv" {
		hdr := "#TYPE Microsoft.Exchange.Data.Directory.SystemConfiguration.AddressRewriteEntry\r\n" +
			"\"Name\",\"InternalAddress\",\"ExternalAddress\",\"OutboundOnly\",\"ExceptionList\"\r\n"
		a.WriteString(hdr)
		b.WriteString(hdr)
	}
	for i := range n {
		u := fmt.Sprintf("user%07d", i)
		for _, w := range []*bytes.Buffer{&a, &b} {
			ext := "first.last" + u[4:]
			if w == &b && i == changedUser {
				ext = "renamed." + u
			}
			if format == "csv" {
				fmt.Fprintf(w, "\"%s\",\"%s@tenanta.contoso.com\",\"%s@contoso.com\",\"False\",\"\"\r\n", u, u, ext)
			} else {
				fmt.Fprintf(w, "%s@tenanta.contoso.com %s@contoso.com\n", u, ext)
			}
		}
	}
	return a.Bytes(), b.Bytes()
}

// BenchmarkEditOneFile changes one line of a single file of 1M rules, native and CSV, and
// reloads: the cost of the edit, not of the file. The edit changes the line's length, so the
// lines after it move in the file. The load reads the whole file (50 MB of garbage per edit,
// collected later with the rest).
func BenchmarkEditOneFile(b *testing.B) {
	for _, format := range []string{"native", "csv"} {
		b.Run(format, func(b *testing.B) {
			dir := b.TempDir()
			path := filepath.Join(dir, "export.rules")
			if format == "csv" {
				path = filepath.Join(dir, "export.csv")
			}
			changed := bigFileLines / 2
			orig, edited := bigRuleFile(format, bigFileLines, changed)
			if err := os.WriteFile(path, orig, 0o644); err != nil {
				b.Fatal(err)
			}
			t := NewTable(Options{RecipientDelimiter: "+"})
			if _, err := t.Load(dir); err != nil {
				b.Fatal(err)
			}
			addr := fmt.Sprintf("user%07d@tenanta.contoso.com", changed)
			var cpu time.Duration
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				content, want := edited, fmt.Sprintf("renamed.user%07d@contoso.com", changed)
				if i%2 == 1 {
					content, want = orig, fmt.Sprintf("first.last%07d@contoso.com", changed)
				}
				if err := os.WriteFile(path, content, 0o644); err != nil {
					b.Fatal(err)
				}
				mtime := time.Now().Add(time.Duration(i+1) * time.Second)
				if err := os.Chtimes(path, mtime, mtime); err != nil {
					b.Fatal(err)
				}
				// Setting up (the first load of 1M rules, writing 50 MB) leaves garbage whose
				// collection would otherwise land in the timed loads.
				runtime.GC()
				b.StartTimer()
				before := cpuTime(b)
				st, err := t.Load(dir)
				cpu += cpuTime(b) - before
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if st.FilesParsed != 1 || st.Rules != bigFileLines {
					b.Fatalf("stats %+v", st)
				}
				if got, _, _ := t.Snapshot().Rewrite(addr, Outbound); got != want {
					b.Fatalf("after the edit %s -> %s, want %s", addr, got, want)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		})
	}
}
