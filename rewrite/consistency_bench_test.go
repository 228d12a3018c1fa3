package rewrite

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkSetCheck measures what the whole-set checks add to a full load of n rules (the
// bidirectional address rules of writeRuleDir beside a bidirectional domain rule of their
// external domain, so every address rule is looked at): the round trip and Name checks, and
// the fingerprint.
//
//	go test -run '^$' -bench SetCheck -benchtime 3x ./rewrite/
func BenchmarkSetCheck(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			t, _ := loadedTable(b, n)
			snap := t.Snapshot()
			var all []*compiled
			for _, f := range t.files {
				all = append(all, f.rules...)
			}
			b.ResetTimer()
			cpu := cpuTime(b)
			for range b.N {
				sc := &setCheck{t: t, b: &batch{counts: t.counts}, next: t.files, added: all}
				if errs := sc.run(snap.txn, snap.used); errs != nil {
					b.Fatal(errs)
				}
				if len(sc.warnings) != 1 {
					b.Fatalf("warnings %v", sc.warnings)
				}
				var fp fingerprintSum
				fp.apply(nil, all)
			}
			b.StopTimer()
			b.ReportMetric(float64(cpuTime(b)-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		})
	}
}
