package integration

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// buildFaultInject builds ./cmd/edgerewrite with `-tags faultinject` (milter/faultinject.go:
// the header X-Edgerewrite-Fault: panic makes the session panic) into the test's temporary
// directory.
func buildFaultInject(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "edgerewrite-faultinject")
	cmd := exec.Command("go", "build", "-tags", "faultinject", "-o", bin, "./cmd/edgerewrite")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags faultinject ./cmd/edgerewrite: %v\n%s", err, out)
	}
	return bin
}

// TestFaultPanic makes a session panic (a faultinject build, header X-Edgerewrite-Fault: panic):
// the client gets a 4xx for that message and it is not delivered, the daemon keeps running
// (same PID) and counts the panic, and the next message, on a new connection, is rewritten and
// delivered.
func TestFaultPanic(t *testing.T) {
	e := newFaultEnv(t, buildFaultInject(t), nil)
	pid := e.er.PID()

	res, err := harness.Send(e.tenantA, faultMessage("fault-panic", 1, "X-Edgerewrite-Fault: panic"))
	if err != nil {
		t.Fatal(err)
	}
	r := res.Refusal()
	if r.Code < 400 || r.Code >= 500 || res.Accepted() {
		t.Errorf("the message that made the session panic got %q, want a 4xx", r)
	}
	t.Logf("panicking session: the client got %q", r)

	res = harness.MustSend(t, e.tenantA, faultMessage("fault-panic", 2))
	msgs, err := e.sink.WaitFor(1, deliveryTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.pf.WaitQueueEmpty(10 * time.Second); err != nil {
		t.Error(err)
	}
	if len(e.sink.Messages()) != 1 {
		t.Errorf("%d messages at the sink, want only the second one", len(e.sink.Messages()))
	}
	m := msgs[0]
	if n := subjectNumber(m.Header(), "fault-panic"); n != 2 {
		t.Errorf("message %d arrived, want message 2", n)
	}
	if msg := checkFaultRewritten(m, m.Header(), 2); msg != "" {
		t.Errorf("the message after the panic: %s", msg)
	}
	if got := e.er.PID(); got != pid || pid == 0 {
		t.Errorf("edgerewrite PID %d before the panic, %d after", pid, got)
	}
	if p := e.metric("edgerewrite_panics_total"); p != 1 {
		t.Errorf("edgerewrite_panics_total = %v, want 1", p)
	}
	t.Logf("next message (queue ID %s) delivered rewritten: MAIL FROM <%s>, From %q; daemon PID %d throughout",
		res.QueueID, m.From, strings.TrimSpace(m.Header().Get("From")), pid)
}
