package milter

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gomilter "github.com/emersion/go-milter"
	"github.com/pelletier/go-toml/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerewrite/edgerewrite/milter/config"
	"github.com/edgerewrite/edgerewrite/milter/decide"
	"github.com/edgerewrite/edgerewrite/policy"
	"github.com/edgerewrite/edgerewrite/rewrite"
)

// testNow is the clock of the session tests.
var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// testEnv is a Server on a unix socket with real rules and a real policy from
// testdata/session, driven by go-milter's own client.
type testEnv struct {
	srv   *Server
	sock  string
	logs  *logBuffer
	reg   *prometheus.Registry
	table *rewrite.Table
}

type envOptions struct {
	observe bool // prepend observe = true to the policy
	// generation, when set, replaces the generation in service (built on the test table).
	generation func(*rewrite.Table, *policy.Policy) func() *decide.Generation
	options    *decide.Options
	limits     config.Limits // the Server's limits (defaults when not set)
}

func newTestEnv(tb testing.TB, o envOptions) *testEnv {
	tb.Helper()
	dir := tb.TempDir()
	rules := filepath.Join(dir, "rules")
	if err := os.Mkdir(rules, 0o755); err != nil {
		tb.Fatal(err)
	}
	src, err := os.ReadFile("testdata/session/rules/contoso.rules")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rules, "contoso.rules"), src, 0o644); err != nil {
		tb.Fatal(err)
	}
	table := rewrite.NewTable(rewrite.Options{RecipientDelimiter: "+"})
	if _, err := table.Load(rules); err != nil {
		tb.Fatalf("loading testdata rules: %v", err)
	}
	pol := loadTestPolicy(tb, "testdata/session/policy.toml", o.observe)

	env := &testEnv{sock: filepath.Join(dir, "milter.sock"), logs: &logBuffer{}, reg: prometheus.NewRegistry(), table: table}
	opts := decide.Options{RewriteOutboundToCc: true}
	if o.options != nil {
		opts = *o.options
	}
	gen := &decide.Generation{Seq: 1, Policy: pol, Rules: table.Snapshot(), Options: opts}
	generation := func() *decide.Generation { return gen }
	if o.generation != nil {
		generation = o.generation(table, pol)
	}
	env.srv = NewServer(ServerOptions{
		Generation: generation,
		Logger:     slog.New(slog.NewJSONHandler(env.logs, nil)),
		Metrics:    NewMetrics(env.reg),
		Clock:      func() time.Time { return testNow },
		Limits:     o.limits,
	})
	l, err := net.Listen("unix", env.sock)
	if err != nil {
		tb.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- env.srv.Serve(l) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := env.srv.Shutdown(ctx); err != nil {
			tb.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != ErrServerClosed {
			tb.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return env
}

func loadTestPolicy(tb testing.TB, path string, observe bool) *policy.Policy {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if observe {
		b = append([]byte("observe = true\n"), b...)
	}
	var cfg policy.Config
	if err := toml.Unmarshal(b, &cfg); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	cfg.RecipientDelimiter = "+"
	pol, err := policy.New(cfg)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return pol
}

// mtaConn is the client's connection. It offers every action in SMFIC_OPTNEG (go-milter's
// client only speaks for SMFIF bits up to QUARANTINE when the milter answers version 2), records
// each packet the milter sends, and shows go-milter's client SMFIR_ADDRCPT_PAR, which it cannot
// parse, as SMFIR_ADDRCPT.
type mtaConn struct {
	net.Conn
	r       *bufio.Reader
	pending []byte
	sent    []string // every milter packet, rendered by renderReply
	patched bool
}

type mtaDialer struct{ last *mtaConn }

func (d *mtaDialer) Dial(network, addr string) (net.Conn, error) {
	c, err := net.Dial(network, addr)
	if err != nil {
		return nil, err
	}
	d.last = &mtaConn{Conn: c, r: bufio.NewReader(c)}
	return d.last, nil
}

func (c *mtaConn) Write(p []byte) (int, error) {
	if !c.patched && len(p) >= 17 && p[4] == smficOptneg {
		c.patched = true
		q := bytes.Clone(p)
		binary.BigEndian.PutUint32(q[9:], 0x1ff)
		return c.Conn.Write(q)
	}
	return c.Conn.Write(p)
}

func (c *mtaConn) Read(p []byte) (int, error) {
	if len(c.pending) == 0 {
		pk, err := readPktErr(c.r)
		if err != nil {
			return 0, err
		}
		c.sent = append(c.sent, renderReply(pk))
		if pk.cmd == smfirAddRcptPar {
			pk = pkt{smfirAddRcpt, cstr(cstring(pk.data))}
		}
		c.pending = pk.bytes()
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// take returns the packets recorded since the last take.
func (c *mtaConn) take() []string {
	s := c.sent
	c.sent = nil
	return s
}

// renderReply renders a milter reply packet for assertions, named after the spec.
func renderReply(p pkt) string {
	ss := cstrings(p.data)
	switch p.cmd {
	case 'e':
		return "SMFIR_CHGFROM " + strings.Join(ss, " ")
	case '-':
		return "SMFIR_DELRCPT " + strings.Join(ss, " ")
	case '+':
		return "SMFIR_ADDRCPT " + strings.Join(ss, " ")
	case '2':
		return "SMFIR_ADDRCPT_PAR " + strings.Join(ss, " ")
	case 'm':
		if len(p.data) < 4 {
			return "SMFIR_CHGHEADER (short)"
		}
		kv := cstrings(p.data[4:])
		for len(kv) < 2 {
			kv = append(kv, "")
		}
		return fmt.Sprintf("SMFIR_CHGHEADER %s[%d]=%q", kv[0], binary.BigEndian.Uint32(p.data), kv[1])
	case 'q':
		return "SMFIR_QUARANTINE " + strings.Join(ss, " ")
	case 'y':
		return "SMFIR_REPLYCODE " + strings.Join(ss, " ")
	case 'a':
		return "SMFIR_ACCEPT"
	case 'c':
		return "SMFIR_CONTINUE"
	case 't':
		return "SMFIR_TEMPFAIL"
	case 'r':
		return "SMFIR_REJECT"
	case 'O':
		return "SMFIC_OPTNEG"
	}
	return fmt.Sprintf("%c %q", p.cmd, p.data)
}

// client is one milter connection, as Postfix's smtpd would open it.
type milterClient struct {
	tb   testing.TB
	s    *gomilter.ClientSession
	conn *mtaConn
}

// connect opens a milter connection and sends SMFIC_CONNECT with the connect-stage macros; the
// test closes it at its end.
func (e *testEnv) connect(tb testing.TB, clientAddr string, macros ...string) *milterClient {
	tb.Helper()
	c := e.open(tb, clientAddr, macros...)
	tb.Cleanup(func() { c.s.Close() })
	return c
}

// open is connect without the cleanup.
func (e *testEnv) open(tb testing.TB, clientAddr string, macros ...string) *milterClient {
	tb.Helper()
	d := &mtaDialer{}
	cl := gomilter.NewClientWithOptions("unix", e.sock, gomilter.ClientOptions{
		Dialer: d, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
		ActionMask: 0x3f,
	})
	s, err := cl.Session()
	if err != nil {
		tb.Fatalf("milter session: %v", err)
	}
	c := &milterClient{tb: tb, s: s, conn: d.last}
	macros = append(macros, "{client_addr}", clientAddr)
	if err := s.Macros(gomilter.CodeConn, macros...); err != nil {
		tb.Fatal(err)
	}
	act, err := s.Conn("client.example", gomilter.FamilyInet, 40000, clientAddr)
	if err != nil || act.Code != gomilter.ActContinue {
		tb.Fatalf("SMFIC_CONNECT: %v %v", act, err)
	}
	c.conn.take()
	return c
}

// message is one SMTP transaction.
type testMessage struct {
	qid     string
	from    string
	args    []string
	rcpts   []decide.Rcpt
	headers [][2]string
}

// result is what the milter answered: each RCPT's reply and the packets of end of message.
type testResult struct {
	mail  string
	rcpts []string
	end   []string
}

// send runs one transaction through the milter as Postfix does: macros, MAIL, RCPTs, headers,
// EOH, end of message.
func (c *milterClient) send(m testMessage) testResult {
	c.tb.Helper()
	s := c.s
	var res testResult
	check := func(err error) {
		c.tb.Helper()
		if err != nil {
			c.tb.Fatal(err)
		}
	}
	check(s.Macros(gomilter.CodeMail, "{auth_authen}", ""))
	act, err := s.Mail(m.from, m.args)
	check(err)
	res.mail = describeAction(act)
	for _, r := range m.rcpts {
		check(s.Macros(gomilter.CodeRcpt, "{rcpt_addr}", r.Addr))
		act, err := s.Rcpt(r.Addr, r.Args)
		check(err)
		res.rcpts = append(res.rcpts, describeAction(act))
	}
	for _, h := range m.headers {
		_, err := s.HeaderField(h[0], h[1])
		check(err)
	}
	_, err = s.HeaderEnd()
	check(err)
	check(s.Macros(gomilter.CodeEOB, "i", m.qid))
	c.conn.take()
	_, _, err = s.End()
	check(err)
	res.end = c.conn.take()
	return res
}

func describeAction(a *gomilter.Action) string {
	switch a.Code {
	case gomilter.ActContinue:
		return "continue"
	case gomilter.ActReplyCode:
		return fmt.Sprintf("%d %s", a.SMTPCode, a.SMTPText)
	case gomilter.ActTempFail:
		return "tempfail"
	}
	return string(rune(a.Code))
}

// logLines returns the JSON log lines with msg "message".
func (e *testEnv) logLines(tb testing.TB) []map[string]any {
	tb.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			tb.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == "message" {
			lines = append(lines, m)
		}
	}
	return lines
}

// metricValue sums the samples of a counter or gauge family in the env's registry.
func metricValue(tb testing.TB, e *testEnv, name string) float64 {
	tb.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *logBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *logBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
