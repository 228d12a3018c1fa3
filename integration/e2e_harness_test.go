package integration

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
	"github.com/emersion/go-smtp"
)

// harnessEnv is one Postfix instance shared by the harness subtests: the primary listener
// has no milter; "smtpd-tenant" (STARTTLS, client certificates verified) and "smtpd-blocked"
// go through macroMilter, which refuses MAIL when {daemon_name} is smtpd-blocked.
type harnessEnv struct {
	pf     *harness.Postfix
	sink   *harness.Sink
	routed *harness.Sink // next hop of routed.example through transport_maps
	ca     *harness.CA
	client *harness.Leaf
	milter *macroMilterLog
}

func newHarnessEnv(t *testing.T) *harnessEnv {
	t.Helper()
	harness.RequirePostfix(t)
	env := &harnessEnv{sink: harness.NewSink(t), routed: harness.NewSink(t), milter: &macroMilterLog{byDaemon: map[string]map[string]string{}}}
	var err error
	if env.ca, err = harness.NewCA(t.TempDir(), "edgerewrite test CA"); err != nil {
		t.Fatal(err)
	}
	server, err := env.ca.Server("smtpd")
	if err != nil {
		t.Fatal(err)
	}
	if env.client, err = env.ca.Client("tenant-a", "relay.tenanta.contoso.com"); err != nil {
		t.Fatal(err)
	}
	milterAddr := startMacroMilter(t, env.milter)
	env.pf = harness.NewPostfix(t, harness.PostfixOptions{
		Name:    "harness",
		RelayTo: env.sink.Addr(),
		SMTPD:   harness.Service{Args: []string{"smtpd_milters="}},
		Services: []harness.Service{
			{Name: "smtpd-tenant", TLS: &harness.ServerTLS{CertFile: server.CertFile, KeyFile: server.KeyFile, CAFile: env.ca.CertFile}},
			{Name: "smtpd-blocked"},
		},
		Milters:             []string{"inet:" + milterAddr},
		MilterDefaultAction: "tempfail",
		MilterMacros: map[string]string{
			"connect": "j {daemon_name} {client_addr} {client_name}",
			"helo":    "{tls_version} {cert_subject} {cert_issuer}",
		},
		Transports: map[string]string{"routed.example": "smtp:[" + strings.Replace(env.routed.Addr(), ":", "]:", 1)},
		Maps:       []harness.Map{{Name: "hold", Type: "hash", Lines: []string{"held@example.net HOLD quarantined by the harness test"}}},
		MainCF: []string{
			"smtpd_recipient_restrictions = check_recipient_access hash:$config_directory/hold, permit_mynetworks, reject_unauth_destination",
		},
	})
	return env
}

// TestE2EHarness proves the harness itself: Postfix relays to the sink with the envelope intact,
// extra listeners, TLS client certificates, the hold queue, sink faults and milter wiring.
func TestE2EHarness(t *testing.T) {
	env := newHarnessEnv(t)
	pf, sink := env.pf, env.sink

	t.Run("relay without milter keeps envelope and header bytes", func(t *testing.T) {
		sink.Reset()
		header := []string{
			"From: Alice Example <alice@example.org>",
			"To: \"Bob, B.\" <bob@example.net>,\r\n\tcarol@example.net",
			"Subject: =?UTF-8?B?SGVsbG8=?=  two  spaces ",
			"Message-ID: <relay-1@example.org>",
			"X-Empty:",
		}
		data := harness.BuildMessage(header, "Hello.\n.leading dot\n")
		res := harness.MustSend(t, pf.Addr(), harness.Envelope{
			LocalAddr: "127.0.0.5", From: "alice@example.org",
			Rcpts: harness.Rcpts("bob@example.net", "carol@example.net"), Data: data,
		})
		if res.QueueID == "" {
			t.Errorf("no queue ID in %q", res.Data)
		}
		msgs, err := sink.WaitFor(1, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		m := msgs[0]
		if m.From != "alice@example.org" || strings.Join(m.RcptAddrs(), ",") != "bob@example.net,carol@example.net" {
			t.Errorf("envelope at sink: %s", m)
		}
		got, body, err := harness.ParseMessage(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		sent, sentBody, _ := harness.ParseMessage(data)
		if g, w := string(got.Without("Received").Bytes()), string(sent.Bytes()); g != w {
			t.Errorf("header changed on the way:\n got %q\nwant %q", g, w)
		}
		if got[0].Name != "Received" || !strings.Contains(got[0].Value, "127.0.0.5") {
			t.Errorf("first header %q, want Postfix's Received from 127.0.0.5", got[0].Raw)
		}
		if !bytes.Equal(body, sentBody) {
			t.Errorf("body %q, want %q", body, sentBody)
		}
	})

	t.Run("DSN parameters arrive as the client sent them", func(t *testing.T) {
		sink.Reset()
		harness.MustSend(t, pf.Addr(), harness.Envelope{
			From: "alice@example.org", RET: "HDRS", ENVID: "env+2B42@example.org",
			Rcpts: []harness.RcptTo{
				{Addr: "bob@example.net", Notify: "SUCCESS,FAILURE", ORCPT: "rfc822;bob@contoso.com"},
				{Addr: "carol@example.net", Notify: "NEVER"},
				{Addr: "dave@example.net", ORCPT: "rfc822;dave+2Btag@contoso.com"},
			},
			Data: harness.BuildMessage([]string{"From: alice@example.org", "Subject: dsn"}, "x\n"),
		})
		msgs, err := sink.WaitFor(1, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		m := msgs[0]
		t.Logf("at sink: %s", m)
		if m.RET() != "HDRS" || m.ENVID() != "env+2B42@example.org" {
			t.Errorf("MAIL params %q, want RET=HDRS ENVID=env+2B42@example.org", m.MailParams)
		}
		want := []struct{ addr, notify, orcpt string }{
			{"bob@example.net", "SUCCESS,FAILURE", "rfc822;bob@contoso.com"},
			{"carol@example.net", "NEVER", ""},
			{"dave@example.net", "", "rfc822;dave+2Btag@contoso.com"},
		}
		if len(m.Rcpts) != len(want) {
			t.Fatalf("rcpts %s", m)
		}
		for i, w := range want {
			r := m.Rcpts[i]
			if r.Addr != w.addr || r.Notify() != w.notify || w.orcpt != "" && r.ORCPT() != w.orcpt {
				t.Errorf("rcpt %d: %q, want <%s> NOTIFY=%s ORCPT=%s", i, r.Line, w.addr, w.notify, w.orcpt)
			}
		}
	})

	t.Run("transport_maps route a domain to its own next hop", func(t *testing.T) {
		sink.Reset()
		harness.MustSend(t, pf.Addr(), harness.Envelope{From: "a@example.org", Rcpts: harness.Rcpts("x@routed.example", "y@example.net"),
			Data: harness.BuildMessage([]string{"Subject: routed"}, "x\n")})
		routed, err := env.routed.WaitFor(1, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		relayed, err := sink.WaitFor(1, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got := routed[0].RcptAddrs(); len(got) != 1 || got[0] != "x@routed.example" {
			t.Errorf("transport next hop got %v", got)
		}
		if got := relayed[0].RcptAddrs(); len(got) != 1 || got[0] != "y@example.net" {
			t.Errorf("relayhost got %v", got)
		}
	})

	t.Run("second smtpd listener", func(t *testing.T) {
		sink.Reset()
		addr := pf.ServiceAddr("smtpd-tenant")
		if addr == "" || addr == pf.Addr() {
			t.Fatalf("ServiceAddr(smtpd-tenant) = %q (primary %s)", addr, pf.Addr())
		}
		harness.MustSend(t, addr, harness.Envelope{From: "a@example.org", Rcpts: harness.Rcpts("b@example.net"),
			Data: harness.BuildMessage([]string{"Subject: tenant listener"}, "x\n")})
		if _, err := sink.WaitFor(1, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if _, err := pf.WaitLog("postfix/smtpd-tenant/smtpd[", 5*time.Second); err != nil {
			t.Error(err)
		}
	})

	t.Run("STARTTLS client certificate is verified", func(t *testing.T) {
		sink.Reset()
		res := harness.MustSend(t, pf.ServiceAddr("smtpd-tenant"), harness.Envelope{
			TLS: env.ca.ClientTLS(env.client, "localhost"), From: "john@tenanta.contoso.com",
			Rcpts: harness.Rcpts("b@example.net"), Data: harness.BuildMessage([]string{"Subject: tls"}, "x\n"),
		})
		if res.TLS == nil || !res.TLS.HandshakeComplete {
			t.Fatal("no TLS")
		}
		msgs, err := sink.WaitFor(1, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		rcvd := msgs[0].Header().Get("Received")
		if !strings.Contains(rcvd, `Client CN "relay.tenanta.contoso.com"`) || !strings.Contains(rcvd, "(verified OK)") {
			t.Errorf("Received does not show the verified client certificate:\n%s", rcvd)
		}
		macros := env.milter.get("smtpd-tenant")
		t.Logf("macros seen on smtpd-tenant: %v", macros)
		if macros["{cert_subject}"] != "relay.tenanta.contoso.com" || macros["{cert_issuer}"] != "edgerewrite test CA" {
			t.Errorf("{cert_subject}=%q {cert_issuer}=%q", macros["{cert_subject}"], macros["{cert_issuer}"])
		}
	})

	t.Run("milter sees daemon_name and refuses with its reply", func(t *testing.T) {
		sink.Reset()
		res, err := harness.Send(pf.ServiceAddr("smtpd-blocked"), harness.Envelope{
			LocalAddr: "127.0.0.9", From: "a@example.org", Rcpts: harness.Rcpts("b@example.net"),
			Data: harness.BuildMessage([]string{"Subject: blocked"}, "x\n"),
		})
		if err != nil {
			t.Fatal(err)
		}
		var se *smtp.SMTPError
		if !errors.As(res.Err(), &se) || se.Code != 550 || se.EnhancedCode != (smtp.EnhancedCode{5, 7, 1}) {
			t.Fatalf("MAIL reply %s, want 550 5.7.1 from the milter", res.Mail)
		}
		if !strings.Contains(res.Mail.Text, "smtpd-blocked") || res.Data.Code != 0 {
			t.Errorf("mail %s data %s", res.Mail, res.Data)
		}
		macros := env.milter.get("smtpd-blocked")
		if macros["{client_addr}"] != "127.0.0.9" {
			t.Errorf("{client_addr} = %q, want 127.0.0.9 (macros %v)", macros["{client_addr}"], macros)
		}
		if n := len(sink.Messages()); n != 0 {
			t.Errorf("%d messages at the sink", n)
		}
	})

	t.Run("held message shows in the queue and arrives after release", func(t *testing.T) {
		sink.Reset()
		res := harness.MustSend(t, pf.Addr(), harness.Envelope{From: "a@example.org", Rcpts: harness.Rcpts("held@example.net"),
			Data: harness.BuildMessage([]string{"Subject: hold me"}, "x\n")})
		q, err := pf.Queue()
		if err != nil {
			t.Fatal(err)
		}
		if len(q) != 1 || q[0].QueueName != "hold" || q[0].QueueID != res.QueueID || q[0].Recipients[0].Address != "held@example.net" {
			t.Fatalf("queue %+v, want message %s on hold", q, res.QueueID)
		}
		if n := len(sink.Messages()); n != 0 {
			t.Fatalf("held message delivered (%d at sink)", n)
		}
		if err := pf.ReleaseHeld(); err != nil {
			t.Fatal(err)
		}
		if _, err := sink.WaitFor(1, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := pf.WaitQueueEmpty(5 * time.Second); err != nil {
			t.Error(err)
		}
	})

	t.Run("sink refusal defers and flush delivers", func(t *testing.T) {
		sink.Reset()
		sink.FailWith(func(*harness.Message) *smtp.SMTPError {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "harness fault"}
		})
		harness.MustSend(t, pf.Addr(), harness.Envelope{From: "a@example.org", Rcpts: harness.Rcpts("b@example.net"),
			Data: harness.BuildMessage([]string{"Subject: fault"}, "x\n")})
		_, err := pf.WaitLog("harness fault", 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		// With the harness's 1 s backoff the message moves between deferred, incoming and
		// active; what counts is that it is still queued with the sink's refusal as reason.
		// A scan can miss a file that moves between queue directories meanwhile: poll.
		var q []harness.QueuedMessage
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			q, err = pf.Queue()
			if err == nil && len(q) == 1 && strings.Contains(q[0].Recipients[0].DelayReason, "451 4.3.0 harness fault") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("queue %+v %v, want one message delayed by the sink's 451", q, err)
			}
		}
		sink.FailWith(nil)
		if err := pf.Flush(); err != nil {
			t.Fatal(err)
		}
		if _, err := sink.WaitFor(1, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		// At least one refusal: with the 1 s backoff Postfix may have retried (and been refused
		// again) before the fault was cleared.
		if sink.Refused() < 1 {
			t.Errorf("refused %d, want at least 1", sink.Refused())
		}
	})
}

// TestE2EHarnessCleanup starts and stops an instance and checks nothing of it is left.
func TestE2EHarnessCleanup(t *testing.T) {
	harness.RequirePostfix(t)
	pf, err := harness.StartPostfix(harness.PostfixOptions{Name: "cleanup"})
	if err != nil {
		t.Fatal(err)
	}
	if procs := instanceProcs(pf.ConfDir); len(procs) < 2 {
		t.Errorf("running instance has processes %v, want master and children", procs)
	}
	if err := pf.Stop(); err != nil {
		t.Fatal(err)
	}
	if procs := instanceProcs(pf.ConfDir); len(procs) != 0 {
		t.Errorf("processes left after Stop: %v", procs)
	}
	if _, err := os.Stat(pf.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("instance directory %s left after Stop (%v)", pf.Dir, err)
	}
	if err := pf.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// instanceProcs lists live processes that belong to the instance in confDir: the master has it
// on its command line, its children inherit MAIL_CONFIG.
func instanceProcs(confDir string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		dir := filepath.Join("/proc", e.Name())
		stat, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil || bytes.Contains(stat, []byte(") Z ")) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
		environ, _ := os.ReadFile(filepath.Join(dir, "environ"))
		if bytes.Contains(cmdline, []byte(confDir+"\x00")) || bytes.Contains(environ, []byte("MAIL_CONFIG="+confDir+"\x00")) {
			out = append(out, e.Name()+":"+strings.ReplaceAll(string(bytes.TrimRight(cmdline, "\x00")), "\x00", " "))
		}
	}
	return out
}
