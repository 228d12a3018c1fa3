package integration

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// TestE2EJSONLog runs `edgerewrite serve` with log_format = "json" in smtpd_milters of a real
// Postfix: a few hundred messages (outbound rewritten, inbound rewritten, relay attempts
// refused at RCPT), and milter connections that make go-milter log on its own (a command it
// does not know, a malformed connect, a packet cut short, a reply the MTA does not take). From
// start to stop, every line the daemon writes must be one JSON object with time, level and
// msg, and the failed write is logged once.
func TestE2EJSONLog(t *testing.T) {
	harness.RequirePostfix(t)
	bin := harness.MustBuildEdgerewrite(t)
	dir := e2eDir(t)
	rules, err := filepath.Abs(filepath.Join("testdata", "e2e", "daemon-rules"))
	if err != nil {
		t.Fatal(err)
	}
	// A unix socket: a write to one whose peer shut its reading side fails at once (EPIPE),
	// which makes the end-of-message write error below certain.
	sock := filepath.Join(dir, "json.sock")
	conf := filepath.Join(dir, "json.toml")
	if _, err := harness.WriteDaemonConfig(conf, harness.DaemonConfig{
		Listen: "unix:" + sock, RulesDir: rules, LogFormat: "json", LogLevel: "info", Extra: e2eRead(t, "daemon.toml"),
	}); err != nil {
		t.Fatal(err)
	}
	er := &e2eDaemon{Edgerewrite: harness.NewEdgerewrite(t, bin, conf)}
	sink := harness.NewSink(t)
	pf := harness.NewPostfix(t, harness.PostfixOptions{
		Name:                "e2e-jsonlog",
		RelayTo:             sink.Addr(),
		Services:            []harness.Service{{Name: "smtpd-tenants"}},
		Milters:             []string{er.Listen},
		MilterDefaultAction: "tempfail",
	})

	const messages, workers = 300, 4
	var accepted int
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, messages)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < messages; i += workers {
				addr, env := jsonLogEnvelope(pf, i)
				res, err := harness.Send(addr, env)
				if err != nil {
					errs <- err
					continue
				}
				if res.Accepted() {
					mu.Lock()
					accepted++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if want := messages * 2 / 3; accepted != want {
		t.Errorf("%d messages accepted, want %d (outbound and inbound; relay attempts refused)", accepted, want)
	}
	if _, err := sink.WaitFor(accepted, e2eTimeout); err != nil {
		t.Error(err)
	}

	// go-milter's own lines: each connection below makes it log once through the standard
	// log package and close the connection. The last one cannot take the reply to its end of
	// message: that write error must be logged once.
	for _, tc := range []struct {
		name, line string
		send       []byte
	}{
		{"unknown command", "Unrecognized command code", milterPacket('Z', nil)},
		{"malformed connect", "malformed connect command", milterPacket('C', []byte("x"))},
		{"packet cut short", "Error reading milter command", milterPacket('H', []byte("helo.example"))[:8]},
		{"reply not taken", "broken pipe", milterPacket('E', nil)},
	} {
		c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: sock, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		if tc.name == "reply not taken" {
			if err := c.CloseRead(); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.Write(tc.send); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tc.name == "packet cut short" {
			c.Close()
		}
		if _, err := e2eWaitLog(er, tc.line); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		c.Close()
	}

	if err := er.Stop(); err != nil {
		t.Fatal(err)
	}
	log := er.Log()
	var lines, messageLines, writeErrors int
	levels := map[string]string{}
	for i, l := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
		lines++
		var rec struct{ Time, Level, Msg string }
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec.Time == "" || rec.Level == "" || rec.Msg == "" {
			t.Errorf("line %d is not a JSON log record with time, level and msg (%v): %q", i+1, err, l)
			continue
		}
		if rec.Msg == "message" {
			messageLines++
		}
		if strings.Contains(l, "broken pipe") {
			writeErrors++
		}
		for _, want := range []string{"Unrecognized command code", "malformed connect command", "Error reading milter command",
			"Error writing packet"} {
			if strings.Contains(rec.Msg, want) {
				levels[want] = rec.Level
			}
		}
	}
	if messageLines < accepted {
		t.Errorf("%d per-message lines for %d accepted messages", messageLines, accepted)
	}
	if writeErrors != 1 {
		t.Errorf("the reply the MTA did not take is in %d log lines, want 1", writeErrors)
	}
	for line, want := range map[string]string{"Unrecognized command code": "WARN",
		"malformed connect command": "ERROR", "Error reading milter command": "WARN", "Error writing packet": "ERROR"} {
		if levels[line] != want {
			t.Errorf("go-milter's %q logged at level %q, want %s", line, levels[line], want)
		}
	}
	t.Logf("%d log lines, %d of them per message", lines, messageLines)
	if t.Failed() {
		for _, l := range strings.Split(log, "\n") {
			if !strings.Contains(l, `"msg":"message"`) {
				t.Log(l) // the daemon's own lines, without the per-message ones
			}
		}
	}
}

// jsonLogEnvelope is message i of TestE2EJSONLog and where to send it: outbound from the tenant
// (sender rewritten), inbound from the Internet (recipient rewritten), or a relay attempt from
// the Internet (refused at RCPT), in turn.
func jsonLogEnvelope(pf *harness.Postfix, i int) (string, harness.Envelope) {
	id := fmt.Sprintf("jsonlog-%d", i)
	switch i % 3 {
	case 0:
		return pf.ServiceAddr("smtpd-tenants"), harness.Envelope{LocalAddr: "127.0.0.5", From: "john@tenanta.contoso.com",
			Rcpts: harness.Rcpts("partner@example.org"),
			Data: harness.BuildMessage([]string{"From: John <john@tenanta.contoso.com>", "To: partner@example.org",
				"Subject: " + id, "Message-ID: <" + id + "@tenanta.contoso.com>"}, "outbound\n")}
	case 1:
		return pf.Addr(), harness.Envelope{From: "alice@example.net", Rcpts: harness.Rcpts("bob@contoso.com"),
			Data: harness.BuildMessage([]string{"From: Alice <alice@example.net>", "To: Bob <bob@contoso.com>",
				"Subject: " + id, "Message-ID: <" + id + "@example.net>"}, "inbound\n")}
	default:
		return pf.Addr(), harness.Envelope{From: "alice@example.net", Rcpts: harness.Rcpts("carol@example.org"),
			Data: harness.BuildMessage([]string{"From: Alice <alice@example.net>", "To: carol@example.org",
				"Subject: " + id}, "relay attempt\n")}
	}
}

// milterPacket is one milter protocol packet: length, command, data.
func milterPacket(cmd byte, data []byte) []byte {
	p := binary.BigEndian.AppendUint32(nil, uint32(1+len(data)))
	return append(append(p, cmd), data...)
}
