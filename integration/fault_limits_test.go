package integration

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// TestFaultLimitsThroughPostfix runs edgerewrite with low [limits] behind Postfix: an SMTP
// session over max_connections and a message over max_recipients get temporary failures (the
// client retries; nothing is lost or passed unrewritten), and mail within the limits flows.
func TestFaultLimitsThroughPostfix(t *testing.T) {
	e := newFaultEnv(t, harness.MustBuildEdgerewrite(t), nil)
	conf := filepath.Join(filepath.Dir(e.rulesDir), "edgerewrite.toml")
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, "\n[limits]\nmax_connections = 1\nmax_recipients = 3\n")
	f.Close()
	if err := e.er.Restart(); err != nil { // limits take effect at a restart
		t.Fatal(err)
	}
	// The harness's probe of the milter socket must be gone before it counts as the one.
	if _, err := e.waitMetric("edgerewrite_sessions_active", func(v float64) bool { return v == 0 }, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	n := 0
	delivered := func(t *testing.T, env harness.Envelope) {
		t.Helper()
		n++
		harness.MustSend(t, e.tenantA, env)
		msgs, err := e.sink.WaitFor(n, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := msgs[n-1].From, strings.Replace(env.From, "tenanta.contoso.com", "contoso.com", 1); got != want {
			t.Errorf("MAIL FROM <%s> at the sink, want <%s>", got, want)
		}
	}
	delivered(t, faultMessage("limits", 1))

	t.Run("an SMTP session over max_connections", func(t *testing.T) {
		// A session that holds the one milter connection: connected, greeted, idle.
		c, err := net.DialTimeout("tcp", e.tenantA, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		r := bufio.NewReader(c)
		if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "220") {
			t.Fatalf("greeting %q %v", l, err)
		}
		res, err := harness.Send(e.tenantA, faultMessage("limits", 2))
		if err != nil {
			t.Fatal(err)
		}
		if code := res.Refusal().Code; code < 400 || code >= 500 {
			t.Errorf("a session over max_connections: %v, want a temporary failure", describe(res, nil))
		}
		c.Close()
		// The held milter connection is freed when Postfix ends the idle session.
		deadline := time.Now().Add(20 * time.Second)
		for {
			res, err := harness.Send(e.tenantA, faultMessage("limits", 2))
			if err == nil && res.Accepted() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("mail still refused after the other session ended: %v", describe(res, err))
			}
			time.Sleep(200 * time.Millisecond)
		}
		n++
		if _, err := e.sink.WaitFor(n, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a message over max_recipients", func(t *testing.T) {
		env := faultMessage("limits", 3)
		env.Rcpts = harness.Rcpts("a@fabrikam.example", "b@fabrikam.example", "c@fabrikam.example", "d@fabrikam.example")
		res, err := harness.Send(e.tenantA, env)
		if err != nil {
			t.Fatal(err)
		}
		if res.Accepted() || res.Refusal().Code < 400 || res.Refusal().Code >= 500 {
			t.Errorf("4 recipients over max_recipients 3: %v, want a temporary failure", describe(res, nil))
		}
		delivered(t, faultMessage("limits", 4))
	})

	if got := e.metric(`edgerewrite_limit_hits_total{limit="max_connections"}`); got < 1 {
		t.Errorf("max_connections hits %v", got)
	}
	if got := e.metric(`edgerewrite_limit_hits_total{limit="max_recipients"}`); got < 1 {
		t.Errorf("max_recipients hits %v", got)
	}
	if msgs := e.settle(n); len(msgs) != n {
		t.Errorf("%d messages at the sink, want %d", len(msgs), n)
	}
}
