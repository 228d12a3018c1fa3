package milter

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerewrite/edgerewrite/milter/decide"
	"github.com/edgerewrite/edgerewrite/rewrite"
)

// Scale tests: they take minutes and up to ~2 GiB, so they run only with EDGEREWRITE_SCALE=1
// (make test stays fast); `make scale` runs every TestScale* test of the module that way.
//
// EDGEREWRITE_SCALE_RULES sets the rule count of the reload test (default 1000000).

func scaleOnly(t *testing.T) {
	t.Helper()
	if os.Getenv("EDGEREWRITE_SCALE") == "" {
		t.Skip("set EDGEREWRITE_SCALE=1 to run the scale tests")
	}
}

// scaleServer is a Server as the daemon runs it (JSON log line per message to a discarded
// writer, real clock, registered metrics) on a unix socket, with a rules directory of n address
// rules (user%07d@tenanta.contoso.com <-> first.last%07d@contoso.com, files of 10000) and
// the session tests' rules and policy.
type scaleServer struct {
	srv   *Server
	sock  string
	dir   string
	table *rewrite.Table
	reg   *prometheus.Registry
	n     int
}

const scaleRulesPerFile = 10_000

func newScaleServer(t *testing.T, n int) *scaleServer {
	t.Helper()
	dir := t.TempDir()
	s := &scaleServer{dir: filepath.Join(dir, "rules"), sock: filepath.Join(dir, "milter.sock"), n: n, reg: prometheus.NewRegistry()}
	if err := os.Mkdir(s.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("testdata/session/rules/contoso.rules")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "contoso.rules"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	s.writeRules(t, "first.last")
	s.table = rewrite.NewTable(rewrite.Options{RecipientDelimiter: "+"})
	start := time.Now()
	if _, err := s.table.Load(s.dir); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rules loaded in %v; heap in use %.0f MiB", s.table.Snapshot().Stats().Rules, time.Since(start).Round(time.Millisecond), heapMiB())
	pol := loadTestPolicy(t, "testdata/session/policy.toml", false)
	s.srv = NewServer(ServerOptions{
		Generation: func() *decide.Generation {
			return &decide.Generation{Policy: pol, Rules: s.table.Snapshot(), Options: decide.Options{RewriteOutboundToCc: true}}
		},
		Logger:  slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Metrics: NewMetrics(s.reg),
	})
	l, err := net.Listen("unix", s.sock)
	if err != nil {
		t.Fatal(err)
	}
	go s.srv.Serve(l)
	t.Cleanup(func() { s.srv.Shutdown(t.Context()) })
	return s
}

// writeRules (re)writes the address rules with external local parts prefix+number.
func (s *scaleServer) writeRules(t *testing.T, prefix string) {
	t.Helper()
	for f := 0; f*scaleRulesPerFile < s.n; f++ {
		path := filepath.Join(s.dir, fmt.Sprintf("users-%04d.rules", f))
		fh, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriter(fh)
		for i := f * scaleRulesPerFile; i < min(s.n, (f+1)*scaleRulesPerFile); i++ {
			fmt.Fprintf(w, "user%07d@tenanta.contoso.com %s%07d@contoso.com\n", i, prefix, i)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := fh.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// message i: an outbound message from one of the rule set's users, with three recipients
// and ten headers, as BenchmarkSessionPostfix sends.
func (s *scaleServer) message(i int) mtaMessage {
	m := postfixBenchMessage()
	user := "john@tenanta.contoso.com"
	if s.n > 0 {
		user = fmt.Sprintf("user%07d@tenanta.contoso.com", (i*7919)%s.n)
	}
	m.qid = "Q" + strconv.Itoa(i)
	m.from = user
	m.headers = slices.Clone(m.headers)
	m.headers[1][1] = " " + user
	m.headers[4][1] = " " + user
	return m
}

// traffic sends messages from workers clients, one milter connection per message, until stop
// is closed or total messages are sent (total 0: no limit). Each message's latency (connect to
// the final reply) goes to record.
func (s *scaleServer) traffic(t *testing.T, workers, total int, stop <-chan struct{}, record func(at time.Time, d time.Duration)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := int(next.Add(1))
				if total > 0 && i > total {
					return
				}
				start := time.Now()
				m := dialPostfix(t, s.sock, postfixEvents)
				m.connect("smtpd-tenant-a", "198.51.100.7")
				res := m.send(s.message(i))
				m.quit()
				if len(res.end) == 0 || res.end[len(res.end)-1] != "SMFIR_ACCEPT" {
					t.Errorf("message %d: %q", i, res.end)
					return
				}
				if record != nil {
					record(start, time.Since(start))
				}
			}
		})
	}
	wg.Wait()
}

func heapMiB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapInuse) / (1 << 20)
}

// TestScale_HeapFlat: the heap after 100k messages is the heap after 10k (no state kept per
// message or per closed connection).
func TestScale_HeapFlat(t *testing.T) {
	scaleOnly(t)
	s := newScaleServer(t, 10_000)
	s.traffic(t, 4, 1_000, nil, nil)
	base := heapMiB()
	s.traffic(t, 4, 9_000, nil, nil)
	at10k, g10k := heapMiB(), runtime.NumGoroutine()
	start := time.Now()
	s.traffic(t, 4, 90_000, nil, nil)
	at100k, g100k := heapMiB(), runtime.NumGoroutine()
	t.Logf("heap in use: %.1f MiB after 1k messages, %.1f MiB after 10k, %.1f MiB after 100k (last 90k in %v); goroutines %d, %d; live connections %d",
		base, at10k, at100k, time.Since(start).Round(time.Second), g10k, g100k, s.srv.Active())
	if at100k > at10k+8 {
		t.Errorf("heap grew from %.1f MiB at 10k messages to %.1f MiB at 100k", at10k, at100k)
	}
	if g100k > g10k+4 {
		t.Errorf("goroutines grew from %d to %d", g10k, g100k)
	}
}

// TestScale_LatencyDuringReload: a full reload of the rule set (every file rewritten, every
// external address changed) while four clients send messages; messages keep flowing on the
// snapshot in service and their worst latency stays low.
func TestScale_LatencyDuringReload(t *testing.T) {
	scaleOnly(t)
	n := 1_000_000
	if v := os.Getenv("EDGEREWRITE_SCALE_RULES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatalf("EDGEREWRITE_SCALE_RULES=%q: %v", v, err)
		}
	}
	s := newScaleServer(t, n)

	type sample struct {
		at time.Time
		d  time.Duration
	}
	var mu sync.Mutex
	var samples []sample
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.traffic(t, 4, 0, stop, func(at time.Time, d time.Duration) {
			mu.Lock()
			samples = append(samples, sample{at, d})
			mu.Unlock()
		})
	}()

	time.Sleep(3 * time.Second)
	s.writeRules(t, "renamed.") // every external address changes: a full reload
	future := time.Now().Add(time.Minute)
	entries, _ := os.ReadDir(s.dir)
	for _, e := range entries {
		os.Chtimes(filepath.Join(s.dir, e.Name()), future, future)
	}
	reloadStart := time.Now()
	st, err := s.table.Load(s.dir)
	reloadEnd := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	close(stop)
	<-done
	if got, _, _ := s.table.Snapshot().Rewrite("user0000001@tenanta.contoso.com", rewrite.Outbound); got != "renamed.0000001@contoso.com" {
		t.Errorf("after the reload user0000001 -> %q", got)
	}

	var before, during []time.Duration
	for _, sm := range samples {
		end := sm.at.Add(sm.d)
		switch {
		case end.Before(reloadStart):
			before = append(before, sm.d)
		case sm.at.Before(reloadEnd):
			during = append(during, sm.d)
		}
	}
	t.Logf("reload of %d rules (%d files parsed): %v; heap in use after %.0f MiB",
		st.Rules, st.FilesParsed, reloadEnd.Sub(reloadStart).Round(time.Millisecond), heapMiB())
	t.Logf("message latency (connect to final reply, 4 clients) before the reload: %s", quantiles(before))
	t.Logf("message latency during the reload: %s", quantiles(during))
	t.Logf("message_duration_seconds (MAIL to final reply): worst bucket %s", worstBucket(t, s.reg))
	if len(during) == 0 {
		t.Error("no message completed while the reload ran")
	}
}

func quantiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no messages"
	}
	slices.Sort(ds)
	q := func(p float64) time.Duration {
		return ds[min(len(ds)-1, int(p*float64(len(ds))))].Round(10 * time.Microsecond)
	}
	return fmt.Sprintf("%d messages, p50 %v, p99 %v, max %v", len(ds), q(0.5), q(0.99), ds[len(ds)-1].Round(10*time.Microsecond))
}

// worstBucket is the smallest upper bound of the duration histogram that holds every message.
func worstBucket(t *testing.T, reg *prometheus.Registry) string {
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "edgerewrite_message_duration_seconds" {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		for _, b := range h.GetBucket() {
			if b.GetCumulativeCount() == h.GetSampleCount() {
				return fmt.Sprintf("<= %gs (%d messages)", b.GetUpperBound(), h.GetSampleCount())
			}
		}
		return "above the last bucket"
	}
	return "histogram not found"
}
