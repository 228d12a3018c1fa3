package integration

// Fault tests: a real Postfix with milter_default_action = tempfail in front
// of edgerewrite, while edgerewrite is killed, fed broken and huge rule edits, given a header it
// cannot parse, and made to panic. What must hold each time is what a mail admin cares about:
// every message the client handed over arrives exactly once, rewritten, and nothing leaves
// half-rewritten or unrewritten.
//
// The environment (testdata/fault/): one trusted listener "from-tenanta" (tenant A's connector,
// known by {daemon_name}), relayhost = the harness sink, rule "tenanta.contoso.com contoso.com".

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// tenantRelay is the address the tests send from as tenant A's mail servers. Not 127.0.0.1:
// Postfix rewrites the header addresses of clients on its own interface addresses
// (local_header_rewrite_clients = permit_inet_interfaces; it would append @$myorigin to a From
// it cannot parse), which a remote tenant's server never is.
const tenantRelay = "127.0.0.2"

// faultEnv is one throwaway Postfix with edgerewrite as its milter and the sink as relayhost.
type faultEnv struct {
	t        *testing.T
	pf       *harness.Postfix
	sink     *harness.Sink
	er       *harness.Edgerewrite
	rulesDir string
	metrics  string // host:port of edgerewrite's /metrics
	tenantA  string // host:port of the from-tenanta listener
}

// newFaultEnv starts edgerewrite (bin) with testdata/fault/policy.toml and a rules directory
// filled by rules (nil: a copy of testdata/fault/rules), then Postfix and the sink.
func newFaultEnv(t *testing.T, bin string, rules func(dir string)) *faultEnv {
	t.Helper()
	harness.RequirePostfix(t)
	e := &faultEnv{t: t, sink: harness.NewSink(t)}
	dir := t.TempDir()
	e.rulesDir = filepath.Join(dir, "rules")
	if rules == nil {
		if err := os.CopyFS(e.rulesDir, os.DirFS(filepath.Join("testdata", "fault", "rules"))); err != nil {
			t.Fatal(err)
		}
	} else {
		if err := os.Mkdir(e.rulesDir, 0o755); err != nil {
			t.Fatal(err)
		}
		rules(e.rulesDir)
	}
	policy, err := os.ReadFile(filepath.Join("testdata", "fault", "policy.toml"))
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "edgerewrite.toml")
	dc, err := harness.WriteDaemonConfig(conf, harness.DaemonConfig{RulesDir: e.rulesDir, LogLevel: "info", Extra: string(policy)})
	if err != nil {
		t.Fatal(err)
	}
	e.metrics = dc.MetricsListen
	e.er = harness.NewEdgerewrite(t, bin, conf)
	e.pf = harness.NewPostfix(t, harness.PostfixOptions{
		Name:                "fault",
		RelayTo:             e.sink.Addr(),
		Services:            []harness.Service{{Name: "from-tenanta"}},
		Milters:             []string{e.er.Listen},
		MilterDefaultAction: "tempfail",
	})
	e.tenantA = e.pf.ServiceAddr("from-tenanta")
	return e
}

// metric returns the value of one series of edgerewrite's /metrics, written as the exposition
// format writes it: `edgerewrite_reloads_total{result="failure"}`. A series not (yet) exported
// is 0. It fails the test on error.
func (e *faultEnv) metric(series string) float64 {
	e.t.Helper()
	v, err := e.metricValue(series)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// metricValue is metric for any goroutine: it returns the error.
func (e *faultEnv) metricValue(series string) (float64, error) {
	v, _, err := harness.ScrapeMetric(e.metrics, series)
	return v, err
}

// waitMetric polls until ok(value of series) holds and returns the time it was first seen. It
// may run on any goroutine.
func (e *faultEnv) waitMetric(series string, ok func(float64) bool, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		v, err := e.metricValue(series)
		if err != nil {
			return time.Time{}, err
		}
		if ok(v) {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("metric %s is still %v after %s", series, v, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settle waits until Postfix has delivered everything it accepted, so that a count at the sink
// is final (a duplicate would be there by now).
func (e *faultEnv) settle(want int) []*harness.Message {
	e.t.Helper()
	if _, err := e.sink.WaitFor(want, 60*time.Second); err != nil {
		e.t.Error(err)
	}
	if err := e.pf.WaitQueueEmpty(30 * time.Second); err != nil {
		e.t.Error(err)
	}
	return e.sink.Messages()
}

// faultMessage is the message number i of a test: sender user<i>@tenanta.contoso.com, a unique
// Subject and Message-ID, Reply-To and Cc with tenant A addresses too.
func faultMessage(tag string, i int, extra ...string) harness.Envelope {
	from := fmt.Sprintf("user%d@tenanta.contoso.com", i)
	h := []string{
		fmt.Sprintf("From: User %d <%s>", i, from),
		"To: Partner <partner@fabrikam.example>",
		"Cc: helpdesk@tenanta.contoso.com",
		"Reply-To: " + from,
		fmt.Sprintf("Subject: %s %04d", tag, i),
		fmt.Sprintf("Message-ID: <%s-%04d@tenanta.contoso.com>", tag, i),
	}
	return harness.Envelope{
		LocalAddr: tenantRelay,
		From:      from,
		Rcpts:     harness.Rcpts("partner@fabrikam.example"),
		Data:      harness.BuildMessage(append(h, extra...), fmt.Sprintf("Message %d of the %s test.\n", i, tag)),
	}
}

// subjectNumber returns the number in a "TAG NNNN" subject, or -1.
func subjectNumber(h harness.Header, tag string) int {
	f, _ := h.Field("Subject", 1)
	rest, ok := strings.CutPrefix(f.Text(), tag+" ")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(rest)
	if err != nil {
		return -1
	}
	return n
}
