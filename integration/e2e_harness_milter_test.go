package integration

import (
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/emersion/go-milter"
)

// macroMilterLog records, per {daemon_name}, the macros a pass-through milter was sent.
type macroMilterLog struct {
	mu       sync.Mutex
	byDaemon map[string]map[string]string
}

func (l *macroMilterLog) record(daemon string, macros map[string]string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byDaemon[daemon] == nil {
		l.byDaemon[daemon] = map[string]string{}
	}
	for k, v := range macros {
		l.byDaemon[daemon][k] = v
	}
}

func (l *macroMilterLog) get(daemon string) map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]string{}
	for k, v := range l.byDaemon[daemon] {
		out[k] = v
	}
	return out
}

// macroMilter passes everything except MAIL on the smtpd-blocked listener. go-milter replaces
// Modifier.Macros with each macro packet, so it keeps {daemon_name} from the connect stage.
type macroMilter struct {
	milter.NoOpMilter
	log    *macroMilterLog
	daemon string
}

func (m *macroMilter) Connect(_, _ string, _ uint16, _ net.IP, mod *milter.Modifier) (milter.Response, error) {
	m.daemon = mod.Macros["{daemon_name}"]
	m.log.record(m.daemon, mod.Macros)
	return milter.RespContinue, nil
}

func (m *macroMilter) Helo(_ string, mod *milter.Modifier) (milter.Response, error) {
	m.log.record(m.daemon, mod.Macros)
	return milter.RespContinue, nil
}

func (m *macroMilter) MailFrom(_ string, _ *milter.Modifier) (milter.Response, error) {
	if m.daemon == "smtpd-blocked" {
		return milter.NewResponseStr(byte(milter.ActReplyCode), fmt.Sprintf("550 5.7.1 refused by the test milter on %s", m.daemon)), nil
	}
	return milter.RespContinue, nil
}

// startMacroMilter serves macroMilter on 127.0.0.1 and a kernel-chosen port until the test ends.
func startMacroMilter(t *testing.T, log *macroMilterLog) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &milter.Server{NewMilter: func() milter.Milter { return &macroMilter{log: log} }}
	go func() { _ = srv.Serve(ln) }()
	// Closing the listener ends Serve; go-milter's Server.Close is not safe to call concurrently
	// with Serve (it writes an unguarded field Serve reads).
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}
