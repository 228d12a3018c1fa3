package integration

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// e2eTimeout bounds every wait for a delivery, a log line or a metric in the e2e tests.
const e2eTimeout = 20 * time.Second

// e2eDaemonEnv is TestE2EDaemon's one Postfix: the Internet listener "smtpd" and the tenants'
// listeners "smtpd-tenants" (plain), "smtpd-tenants-prepend" (a PREPEND access action) and
// "smtpd-tenants-strict" (its own edgerewrite on a unix socket with rewrite_outbound_to_cc =
// false), all relaying to one sink.
type e2eDaemonEnv struct {
	pf     *harness.Postfix
	sink   *harness.Sink
	er     *e2eDaemon // inet socket, defaults
	strict *e2eDaemon // unix socket, rewrite_outbound_to_cc = false
}

// TestE2EDaemon runs edgerewrite in smtpd_milters of a real Postfix: outbound, inbound
// and hairpin rewriting as the next hop receives it, header bytes, DSN parameters, the null
// sender, duplicates, connection reuse and the per-message log line.
func TestE2EDaemon(t *testing.T) {
	harness.RequirePostfix(t)
	bin := harness.MustBuildEdgerewrite(t)
	dir := e2eDir(t)
	policy := e2eRead(t, "daemon.toml")
	env := &e2eDaemonEnv{sink: harness.NewSink(t)}
	env.er = e2eStartDaemon(t, bin, dir, "default", "", "", policy, "daemon-rules")
	env.strict = e2eStartDaemon(t, bin, dir, "strict", "unix:"+filepath.Join(dir, "strict.sock"),
		"rewrite_outbound_to_cc = false", policy, "daemon-rules")
	env.pf = harness.NewPostfix(t, harness.PostfixOptions{
		Name:    "e2e-daemon",
		RelayTo: env.sink.Addr(),
		Services: []harness.Service{
			{Name: "smtpd-tenants"},
			{Name: "smtpd-tenants-prepend", Args: []string{"smtpd_client_restrictions=check_client_access,cidr:$config_directory/prepend.cidr"}},
			{Name: "smtpd-tenants-strict", Args: []string{"smtpd_milters=" + env.strict.Listen}},
		},
		Milters:             []string{env.er.Listen},
		MilterDefaultAction: "tempfail",
		Maps: []harness.Map{{Name: "prepend.cidr", Type: "cidr",
			Lines: []string{"127.0.0.0/8 PREPEND X-Prepended: by check_client_access"}}},
	})
	tenants := env.pf.ServiceAddr("smtpd-tenants")

	t.Run("outbound: sender and sender headers rewritten, every other byte kept", func(t *testing.T) {
		data := e2eOutboundMessage("out-1")
		res := harness.MustSend(t, tenants, harness.Envelope{
			LocalAddr: "127.0.0.5", From: "john@tenanta.contoso.com", RET: "HDRS", ENVID: "out-1+2Bx",
			Rcpts: harness.Rcpts("partner@example.org"), Data: data,
		})
		m := e2eWaitMessage(t, env.sink, "<out-1@tenanta.contoso.com>")
		if m.From != "john@contoso.com" {
			t.Errorf("MAIL FROM <%s> at the sink, want <john@contoso.com>", m.From)
		}
		if m.RET() != "HDRS" || m.ENVID() != "out-1+2Bx" {
			t.Errorf("MAIL FROM parameters %q after CHGFROM, want RET=HDRS and ENVID=out-1+2Bx kept", m.MailParams)
		}
		e2eWantRcpts(t, m, "partner@example.org")
		e2eWantHeader(t, data, m, e2eOutbound, e2eSenderFields, e2eRecipientFields)

		line := e2eLogLine(t, env.er, "qid="+res.QueueID)
		for _, want := range []string{"direction=outbound", "verdict=accept", "connector=tenants",
			"mail-from:john@tenanta.contoso.com->john@contoso.com",
			"From:john@tenanta.contoso.com->john@contoso.com",
			"To:bob@tenantb.contoso.com->bob@contoso.com"} {
			if !strings.Contains(line, want) {
				t.Errorf("log line lacks %q:\n%s", want, line)
			}
		}
	})

	t.Run("outbound with rewrite_outbound_to_cc = false keeps To and Cc", func(t *testing.T) {
		data := e2eOutboundMessage("strict-1")
		harness.MustSend(t, env.pf.ServiceAddr("smtpd-tenants-strict"), harness.Envelope{
			LocalAddr: "127.0.0.5", From: "john@tenanta.contoso.com",
			Rcpts: harness.Rcpts("partner@example.org"), Data: data,
		})
		m := e2eWaitMessage(t, env.sink, "<strict-1@tenanta.contoso.com>")
		if m.From != "john@contoso.com" {
			t.Errorf("MAIL FROM <%s>, want <john@contoso.com>", m.From)
		}
		e2eWantHeader(t, data, m, e2eOutbound, e2eSenderFields)
		if _, err := e2eWaitLog(env.strict, "direction=outbound"); err != nil {
			t.Errorf("the strict daemon did not handle the message: %v", err)
		}
	})

	for _, tc := range []struct{ name, service string }{
		{"From as the very first header", "smtpd-tenants"},
		{"From as the very first header after a PREPEND access action", "smtpd-tenants-prepend"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "first-" + tc.service
			data := harness.BuildMessage([]string{
				"From: John Doe <john@tenanta.contoso.com>",
				"To: partner@example.org",
				"From: second <never@tenanta.contoso.com>",
				"Subject: first header",
				"Date: Mon, 23 Nov 2026 10:00:00 +0000",
				"Message-ID: <" + id + "@tenanta.contoso.com>",
			}, "first\n")
			harness.MustSend(t, env.pf.ServiceAddr(tc.service), harness.Envelope{
				LocalAddr: "127.0.0.5", From: "john@tenanta.contoso.com",
				Rcpts: harness.Rcpts("partner@example.org"), Data: data,
			})
			m := e2eWaitMessage(t, env.sink, "<"+id+"@tenanta.contoso.com>")
			h := m.Header()
			if tc.service == "smtpd-tenants-prepend" {
				if v := h.Values("X-Prepended"); len(v) != 1 || harness.Unfold(v[0]) != "by check_client_access" {
					t.Errorf("X-Prepended fields %q, want the one the access action added", v)
				}
			}
			e2eWantHeader(t, data, m, e2eOutbound, []string{"From"}, "X-Prepended")
		})
	}

	t.Run("inbound: recipients and To/Cc rewritten, NOTIFY and ORCPT kept", func(t *testing.T) {
		data := harness.BuildMessage([]string{
			"From: Sender <sender@example.org>",
			"To: \"Doe, John\" <john@contoso.com>,\r\n\tBob (tenant B) <bob@contoso.com>",
			"Cc: team@contoso.com, other@example.org",
			"Reply-To: john@contoso.com",
			"Subject: inbound",
			"Date: Mon, 23 Nov 2026 10:00:00 +0000",
			"Message-ID: <in-1@example.org>",
		}, "inbound\n")
		harness.MustSend(t, env.pf.Addr(), harness.Envelope{
			LocalAddr: "127.0.0.9", From: "sender@example.org",
			Rcpts: []harness.RcptTo{
				{Addr: "john@contoso.com", Notify: "SUCCESS,FAILURE", ORCPT: "rfc822;john@contoso.com"},
				{Addr: "bob@contoso.com", Notify: "DELAY"},
				{Addr: "team@contoso.com"},
			},
			Data: data,
		})
		m := e2eWaitMessage(t, env.sink, "<in-1@example.org>")
		if m.From != "sender@example.org" {
			t.Errorf("inbound MAIL FROM <%s> changed", m.From)
		}
		e2eWantRcpts(t, m, "john@tenanta.contoso.com", "bob@tenantb.contoso.com", "team@tenanta.contoso.com")
		for _, w := range []struct{ addr, notify, orcpt string }{
			{"john@tenanta.contoso.com", "SUCCESS,FAILURE", "rfc822;john@contoso.com"},
			{"bob@tenantb.contoso.com", "DELAY", "rfc822;bob@contoso.com"},
			{"team@tenanta.contoso.com", "", "rfc822;team@contoso.com"},
		} {
			r := e2eRcpt(m, w.addr)
			if r == nil {
				continue // reported by e2eWantRcpts
			}
			if !strings.EqualFold(r.Notify(), w.notify) || !strings.EqualFold(r.ORCPT(), w.orcpt) {
				t.Errorf("RCPT %q at the sink, want NOTIFY=%s ORCPT=%s", r.Line, w.notify, w.orcpt)
			}
		}
		e2eWantHeader(t, data, m, e2eInbound, []string{"To", "Cc"})
	})

	t.Run("hairpin: sender rewritten out, recipient rewritten in", func(t *testing.T) {
		data := harness.BuildMessage([]string{
			"From: John <john@tenanta.contoso.com>",
			"To: Bob <bob@contoso.com>",
			"Subject: hairpin",
			"Date: Mon, 23 Nov 2026 10:00:00 +0000",
			"Message-ID: <hairpin-1@tenanta.contoso.com>",
		}, "hairpin\n")
		harness.MustSend(t, tenants, harness.Envelope{
			LocalAddr: "127.0.0.5", From: "john@tenanta.contoso.com",
			Rcpts: []harness.RcptTo{{Addr: "bob@contoso.com", Notify: "NEVER"}}, Data: data,
		})
		m := e2eWaitMessage(t, env.sink, "<hairpin-1@tenanta.contoso.com>")
		if m.From != "john@contoso.com" {
			t.Errorf("MAIL FROM <%s>, want <john@contoso.com>", m.From)
		}
		e2eWantRcpts(t, m, "bob@tenantb.contoso.com")
		if r := e2eRcpt(m, "bob@tenantb.contoso.com"); r != nil && (r.Notify() != "NEVER" || r.ORCPT() != "rfc822;bob@contoso.com") {
			t.Errorf("RCPT %q, want NOTIFY=NEVER ORCPT=rfc822;bob@contoso.com", r.Line)
		}
		e2eWantHeader(t, data, m, e2eOutbound, []string{"From"})
	})

	t.Run("null sender untouched", func(t *testing.T) {
		data := harness.BuildMessage([]string{
			"From: Mail Delivery System <MAILER-DAEMON@tenanta.contoso.com>",
			"To: partner@example.org",
			"Subject: Undeliverable: hello",
			"Date: Mon, 23 Nov 2026 10:00:00 +0000",
			"Message-ID: <bounce-1@tenanta.contoso.com>",
		}, "bounce\n")
		harness.MustSend(t, tenants, harness.Envelope{
			LocalAddr: "127.0.0.5", From: "", Rcpts: harness.Rcpts("partner@example.org"), Data: data,
		})
		m := e2eWaitMessage(t, env.sink, "<bounce-1@tenanta.contoso.com>")
		if m.From != "" || !strings.HasPrefix(strings.ToUpper(m.MailLine), "MAIL FROM:<>") {
			t.Errorf("MAIL line %q at the sink, want MAIL FROM:<>", m.MailLine)
		}
		e2eWantRcpts(t, m, "partner@example.org")
		t.Logf("bounce From at the sink: %q", m.Header().Get("From"))
	})

	t.Run("two recipients that map to one address are delivered once", func(t *testing.T) {
		// Different NOTIFY values keep Postfix's own duplicate filter (cleanup) out of it.
		harness.MustSend(t, env.pf.Addr(), harness.Envelope{
			LocalAddr: "127.0.0.9", From: "sender@example.org",
			Rcpts: []harness.RcptTo{
				{Addr: "john@contoso.com", Notify: "SUCCESS"},
				{Addr: "john@tenanta.contoso.com", Notify: "FAILURE"},
			},
			Data: harness.BuildMessage([]string{
				"From: sender@example.org", "To: john@contoso.com", "Subject: dup",
				"Date: Mon, 23 Nov 2026 10:00:00 +0000", "Message-ID: <dup-1@example.org>",
			}, "dup\n"),
		})
		m := e2eWaitMessage(t, env.sink, "<dup-1@example.org>")
		e2eWantRcpts(t, m, "john@tenanta.contoso.com")
		if n := e2eCount(env.sink, "<dup-1@example.org>"); n != 1 {
			t.Errorf("the message arrived %d times", n)
		}
	})

	t.Run("two messages on one SMTP connection are both rewritten", func(t *testing.T) {
		var msgs []e2eMsg
		for i, from := range []string{"john@tenanta.contoso.com", "bob@tenantb.contoso.com", "carol@tenanta.contoso.com"} {
			id := fmt.Sprintf("<reuse-%d@tenanta.contoso.com>", i)
			msgs = append(msgs, e2eMsg{From: from, Rcpts: []string{"partner@example.org"},
				Data: harness.BuildMessage([]string{"From: <" + from + ">", "To: partner@example.org",
					"Subject: reuse", "Date: Mon, 23 Nov 2026 10:00:00 +0000", "Message-ID: " + id}, "reuse\n")})
		}
		replies := e2eSendOnOneConnection(t, tenants, "127.0.0.5", msgs)
		for i, want := range []string{"john@contoso.com", "bob@contoso.com", "carol@contoso.com"} {
			m := e2eWaitMessage(t, env.sink, fmt.Sprintf("<reuse-%d@tenanta.contoso.com>", i))
			if m.From != want || harness.Unfold(m.Header().Get("From")) != "<"+want+">" {
				t.Errorf("message %d on the reused connection (%s): MAIL FROM <%s>, From %q; want %s in both",
					i+1, replies[i], m.From, m.Header().Get("From"), want)
			}
		}
	})
}

// e2eOutboundMessage is an outbound message with every sender field, recipient fields with
// internal and outside addresses, display names, comments, an encoded word, a group, folding,
// and fields that name internal addresses but must never change.
func e2eOutboundMessage(id string) []byte {
	return harness.BuildMessage([]string{
		"From: \"Doe, John\" (Sales) <john@tenanta.contoso.com>",
		"Sender: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@tenanta.contoso.com>",
		"Reply-To: John <john@tenanta.contoso.com>,\r\n\tteam@tenanta.contoso.com (the team)",
		"Resent-From: john@tenanta.contoso.com (John Doe)",
		"Resent-Sender: <juergen@tenanta.contoso.com>",
		"Return-Receipt-To: <john@tenanta.contoso.com>",
		"Disposition-Notification-To:   John   <john@tenanta.contoso.com>  ",
		"To: \"Bob B.\" <bob@tenantb.contoso.com>, partner@example.org",
		"Cc: Team: carol@tenanta.contoso.com,\r\n  dave@example.org;",
		"Subject: =?UTF-8?B?SGVsbG8gd29ybGQ=?=  two  spaces",
		"Date: Mon, 23 Nov 2026 10:00:00 +0000",
		"Message-ID: <" + id + "@tenanta.contoso.com>",
		"X-Original-Sender: john@tenanta.contoso.com",
		"In-Reply-To: <older@tenanta.contoso.com>",
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=utf-8",
	}, "Hello from john@tenanta.contoso.com.\n")
}

// The address maps of the two directions of daemon-rules/contoso.rules, for expected values.
var (
	e2eOutbound = strings.NewReplacer("@tenanta.contoso.com", "@contoso.com", "bob@tenantb.contoso.com", "bob@contoso.com")
	e2eInbound  = strings.NewReplacer("bob@contoso.com", "bob@tenantb.contoso.com", "@contoso.com", "@tenanta.contoso.com")

	e2eSenderFields    = []string{"From", "Sender", "Reply-To", "Resent-From", "Resent-Sender", "Return-Receipt-To", "Disposition-Notification-To"}
	e2eRecipientFields = []string{"To", "Cc"}
)

// e2eWantHeader compares the header fields the sink received, byte for byte and in order, with
// the sent ones: the fields named in the groups have their values mapped through r, all others
// must be identical. Received (Postfix's own) and the names in ignore are left out.
func e2eWantHeader(t *testing.T, sent []byte, m *harness.Message, r *strings.Replacer, groups ...any) {
	t.Helper()
	changed := map[string]bool{}
	var ignore []string
	for _, g := range groups {
		switch g := g.(type) {
		case []string:
			for _, n := range g {
				changed[strings.ToLower(n)] = true
			}
		case string:
			ignore = append(ignore, g)
		}
	}
	sh, _, err := harness.ParseMessage(sent)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range sh {
		raw := f.Raw
		if changed[strings.ToLower(f.Name)] {
			raw = f.Name + ":" + r.Replace(f.Value) + "\r\n"
		}
		want = append(want, raw)
	}
	var got []string
	for _, f := range m.Header().Without(append(ignore, "Received")...) {
		got = append(got, f.Raw)
	}
	if strings.Join(got, "") == strings.Join(want, "") {
		return
	}
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("header field %d at the sink:\n got %q\nwant %q", i+1, g, w)
		}
	}
}

// e2eWantRcpts checks the envelope recipients at the sink, in any order and each once.
func e2eWantRcpts(t *testing.T, m *harness.Message, want ...string) {
	t.Helper()
	got := map[string]int{}
	for _, a := range m.RcptAddrs() {
		got[strings.ToLower(a)]++
	}
	ok := len(m.Rcpts) == len(want)
	for _, w := range want {
		ok = ok && got[strings.ToLower(w)] == 1
	}
	if !ok {
		t.Errorf("recipients at the sink %q, want %q (each once)", m.RcptAddrs(), want)
	}
}

// e2eRcpt returns the sink's RCPT for addr, nil if there is none.
func e2eRcpt(m *harness.Message, addr string) *harness.Rcpt {
	for i := range m.Rcpts {
		if strings.EqualFold(m.Rcpts[i].Addr, addr) {
			return &m.Rcpts[i]
		}
	}
	return nil
}

// e2eWaitMessage waits for the message whose data contains marker (its Message-ID).
func e2eWaitMessage(t *testing.T, sink *harness.Sink, marker string) *harness.Message {
	t.Helper()
	deadline := time.Now().Add(e2eTimeout)
	for {
		for _, m := range sink.Messages() {
			if bytes.Contains(m.Data, []byte(marker)) {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message with %q reached the sink within %s", marker, e2eTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// e2eCount is how many messages with marker the sink holds.
func e2eCount(sink *harness.Sink, marker string) int {
	n := 0
	for _, m := range sink.Messages() {
		if bytes.Contains(m.Data, []byte(marker)) {
			n++
		}
	}
	return n
}

// e2eMsg is one transaction of e2eSendOnOneConnection.
type e2eMsg struct {
	From  string
	Rcpts []string
	Data  []byte
}

// e2eSendOnOneConnection sends every message in one SMTP session (EHLO once) and returns the
// final reply text of each; any refusal fails the test.
func e2eSendOnOneConnection(t *testing.T, addr, localAddr string, msgs []e2eMsg) []string {
	t.Helper()
	d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(localAddr)}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.Hello("client.edgerewrite.test"); err != nil {
		t.Fatal(err)
	}
	var replies []string
	for i, msg := range msgs {
		if err := c.Mail(msg.From, nil); err != nil {
			t.Fatalf("message %d: MAIL FROM: %v", i+1, err)
		}
		for _, r := range msg.Rcpts {
			if err := c.Rcpt(r, nil); err != nil {
				t.Fatalf("message %d: RCPT TO: %v", i+1, err)
			}
		}
		w, err := c.Data()
		if err != nil {
			t.Fatalf("message %d: DATA: %v", i+1, err)
		}
		if _, err := w.Write(msg.Data); err != nil {
			t.Fatal(err)
		}
		resp, err := w.CloseWithResponse()
		if err != nil {
			t.Fatalf("message %d: end of data: %v", i+1, err)
		}
		replies = append(replies, resp.StatusText)
	}
	if err := c.Quit(); err != nil {
		t.Error(err)
	}
	return replies
}

// e2eDir is a directory the Postfix user can traverse (sockets, certificates), removed at the end.
func e2eDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "edgerewrite-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// e2eRead returns testdata/e2e/NAME.
func e2eRead(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "e2e", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// e2eDaemon is one edgerewrite started by e2eStartDaemon.
type e2eDaemon struct {
	*harness.Edgerewrite
	// Metrics is its metrics_listen (host:port); RulesDir its rules directory.
	Metrics, RulesDir string
}

// e2eStartDaemon copies testdata/e2e/RULES to DIR/NAME-rules, writes DIR/NAME.toml (listen ""
// is a free inet port; top are top-level keys, policy the tables) and starts edgerewrite.
func e2eStartDaemon(t *testing.T, bin, dir, name, listen, top, policy, rules string) *e2eDaemon {
	t.Helper()
	rulesDir := filepath.Join(dir, name+"-rules")
	if err := os.Mkdir(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join("testdata", "e2e", rules)
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(rulesDir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(dir, name+".toml")
	cfg, err := harness.WriteDaemonConfig(conf, harness.DaemonConfig{
		Listen: listen, RulesDir: rulesDir, LogFormat: "text", LogLevel: "info",
		Extra: strings.TrimSpace(top+"\n") + "\n" + policy,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &e2eDaemon{Edgerewrite: harness.NewEdgerewrite(t, bin, conf), Metrics: cfg.MetricsListen, RulesDir: rulesDir}
}

// e2eWaitLog waits for a line of the daemon's log that contains substr.
func e2eWaitLog(er *e2eDaemon, substr string) (string, error) {
	deadline := time.Now().Add(e2eTimeout)
	for {
		for _, l := range strings.Split(er.Log(), "\n") {
			if strings.Contains(l, substr) {
				return l, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no line with %q in %s within %s", substr, er.LogFile, e2eTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// e2eLogLine is e2eWaitLog for tests.
func e2eLogLine(t *testing.T, er *e2eDaemon, substr string) string {
	t.Helper()
	l, err := e2eWaitLog(er, substr)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// e2eMetric scrapes one sample from the daemon's /metrics at addr (host:port); a sample that
// is not there is an error.
func e2eMetric(addr, name string) (float64, error) {
	v, found, err := harness.ScrapeMetric(addr, name)
	if err == nil && !found {
		err = fmt.Errorf("metric %s not in http://%s/metrics", name, addr)
	}
	return v, err
}

// e2eWaitMetric polls the daemon's metric name until it equals want, failing after e2eTimeout.
func e2eWaitMetric(t *testing.T, metrics, name string, want float64) {
	t.Helper()
	deadline := time.Now().Add(e2eTimeout)
	for {
		v, err := e2eMetric(metrics, name)
		if err == nil && v == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %v (%v) after %s, want %v", name, v, err, e2eTimeout, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// e2eInternetMessage is an Internet message from sender@example.org to rcpt whose Message-ID holds
// marker, and that Message-ID.
func e2eInternetMessage(rcpt, marker string) (harness.Envelope, string) {
	id := "<" + marker + "@example.org>"
	return harness.Envelope{
		LocalAddr: "127.0.0.6", From: "sender@example.org", Rcpts: harness.Rcpts(rcpt),
		Data: harness.BuildMessage([]string{"From: sender@example.org", "To: " + rcpt, "Subject: " + marker,
			"Date: Mon, 23 Nov 2026 10:00:00 +0000", "Message-ID: " + id}, marker+"\n"),
	}, id
}
