package integration

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// deliveryTimeout bounds every wait for a message at a sink.
const deliveryTimeout = 20 * time.Second

// wantRefused fails the test unless the transaction was refused with code and enhanced status.
func wantRefused(t *testing.T, res *harness.Result, code int, status string) harness.Reply {
	t.Helper()
	r := res.Refusal()
	if r.Code != code || r.Enhanced != status {
		t.Errorf("reply %q, want %d %s", r.String(), code, status)
	}
	return r
}

// wantField checks the unfolded value of the first header field name.
func wantField(t *testing.T, h harness.Header, name, want string) {
	t.Helper()
	f, ok := h.Field(name, 1)
	if !ok {
		t.Errorf("no %s header field; fields: %v", name, h.Names())
		return
	}
	if got := f.Text(); got != want {
		t.Errorf("%s: %q, want %q", name, got, want)
	}
}

// wantUntouched checks that every field of the sent header except the changed ones arrives
// byte for byte, in order, Postfix's Received (and the names in also) aside.
func wantUntouched(t *testing.T, sent []byte, got harness.Header, changed []string, also ...string) {
	t.Helper()
	sh, _, err := harness.ParseMessage(sent)
	if err != nil {
		t.Fatal(err)
	}
	want := string(sh.Without(changed...).Bytes())
	have := string(got.Without(append(append([]string{"Received"}, changed...), also...)...).Bytes())
	if have != want {
		t.Errorf("fields that must not change:\n got %q\nwant %q", have, want)
	}
}

// wantRcpts checks the envelope recipients of a delivery, in any order.
func wantRcpts(t *testing.T, got []string, want ...string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Errorf("recipients %v, want %v", got, want)
	}
}

// waitFor waits until n messages have arrived at sink and returns them, or fails the test.
func waitFor(t *testing.T, sink *harness.Sink, n int, timeout time.Duration) []*harness.Message {
	t.Helper()
	msgs, err := sink.WaitFor(n, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// rcptOf returns the recipient addr of m, failing the test when it is not there.
func rcptOf(t *testing.T, m *harness.Message, addr string) harness.Rcpt {
	t.Helper()
	for _, r := range m.Rcpts {
		if strings.EqualFold(r.Addr, addr) {
			return r
		}
	}
	t.Fatalf("no recipient <%s> in %v", addr, m.RcptAddrs())
	return harness.Rcpt{}
}

// header parses the header block of m, failing the test when it is malformed.
func header(t *testing.T, m *harness.Message) harness.Header {
	t.Helper()
	h, _, err := harness.ParseMessage(m.Data)
	if err != nil {
		t.Fatalf("message at %s: %v", m.From, err)
	}
	return h
}

// wantNothingAt checks that no message arrived at the given sinks (after the time Postfix
// needs to deliver one).
func wantNothingAt(t *testing.T, internet *harness.Sink, hops ...*harness.Sink) {
	t.Helper()
	time.Sleep(500 * time.Millisecond)
	if n := len(internet.Messages()); n > 0 {
		t.Errorf("%d unexpected messages at the Internet sink: %v", n, internet.Messages()[0])
	}
	for _, h := range hops {
		if n := len(h.Messages()); n > 0 {
			t.Errorf("%d unexpected messages at %s", n, h.Name())
		}
	}
}

// wantTracked checks that edgerewrite logged the message under its Postfix queue ID (the message
// tracking an Edge admin had).
func wantTracked(t *testing.T, ex *example, queueID string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(ex.er.Log(), queueID) {
		if time.Now().After(deadline) {
			t.Errorf("edgerewrite logged nothing for queue ID %s; log:\n%s", queueID, ex.er.Log())
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitMetric waits until edgerewrite's /metrics shows the metric (without labels) at value,
// e.g. after a rules edit: the reload has then happened.
func (ex *example) waitMetric(name, value string) {
	ex.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	want := "\n" + name + " " + value + "\n"
	var last string
	for {
		resp, err := http.Get("http://" + ex.metrics + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = string(b)
			if strings.Contains("\n"+last, want) {
				return
			}
		}
		if time.Now().After(deadline) {
			ex.t.Fatalf("metric %s never became %s; last scrape (%v):\n%s", name, value, err, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
