package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// TestFaultMalformedFrom sends each message of testdata/fault/malformed/ (a From field that is
// not a valid mailbox-list). From tenant A it is refused with 550 5.7.1 naming the header: a
// sender field that cannot be read cannot be attributed, and mail readers may show it as
// anyone's. From the Internet the same malformed value, in a To field that inbound mail has
// rewritten, is delivered byte-identical while the envelope recipient is still rewritten, and
// is counted in edgerewrite_headers_unparsed_total. The same daemon also shows that a release
// build ignores the fault-injection header.
func TestFaultMalformedFrom(t *testing.T) {
	e := newFaultEnv(t, harness.MustBuildEdgerewrite(t), nil)
	files, err := filepath.Glob(filepath.Join("testdata", "fault", "malformed", "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/fault/malformed/*.eml (%v)", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".eml")
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		data := []byte(strings.ReplaceAll(string(raw), "\n", "\r\n"))
		sent, _, err := harness.ParseMessage(data)
		if err != nil {
			t.Fatal(err)
		}
		sentFrom, _ := sent.Field("From", 1)
		t.Run(name+" from tenant A is refused", func(t *testing.T) {
			res, err := harness.Send(e.tenantA, harness.Envelope{LocalAddr: tenantRelay, From: "john@tenanta.contoso.com",
				Rcpts: harness.Rcpts("partner@fabrikam.example"), Data: data})
			if err != nil {
				t.Fatal(err)
			}
			want := "From header cannot be parsed as addresses; tenant tenant-a may send only from its own domains"
			if r := res.Data; r.Code != 550 || r.Enhanced != "5.7.1" || r.Text != want {
				t.Errorf("reply after DATA %q, want \"550 5.7.1 %s\"", r.String(), want)
			}
		})
		t.Run(name+" in an inbound To passes untouched and counted", func(t *testing.T) {
			e.sink.Reset()
			id := "<fault-inbound-" + name + "@example.org>"
			inbound := harness.BuildMessage([]string{"From: partner@fabrikam.example", "To:" + sentFrom.Value,
				"Subject: malformed To", "Message-ID: " + id}, "inbound\n")
			before := e.metric("edgerewrite_headers_unparsed_total")
			harness.MustSend(t, e.pf.Addr(), harness.Envelope{LocalAddr: "127.0.0.9", From: "partner@fabrikam.example",
				Rcpts: harness.Rcpts("john@contoso.com"), Data: inbound})
			msgs, err := e.sink.WaitFor(1, deliveryTimeout)
			if err != nil {
				t.Fatal(err)
			}
			m := msgs[0]
			if got, _ := m.Header().Field("To", 1); got.Value != sentFrom.Value {
				t.Errorf("To changed:\n sent %q\n  got %q", sentFrom.Value, got.Value)
			}
			if got := m.RcptAddrs(); len(got) != 1 || got[0] != "john@tenanta.contoso.com" {
				t.Errorf("envelope recipients %q, want john@tenanta.contoso.com", got)
			}
			if after := e.metric("edgerewrite_headers_unparsed_total"); after != before+1 {
				t.Errorf("edgerewrite_headers_unparsed_total went from %v to %v, want +1", before, after)
			}
		})
	}

	t.Run("a release build ignores the fault-injection header", func(t *testing.T) {
		e.sink.Reset()
		env := faultMessage("fault-ignored", 7, "X-Edgerewrite-Fault: panic")
		harness.MustSend(t, e.tenantA, env)
		msgs, err := e.sink.WaitFor(1, deliveryTimeout)
		if err != nil {
			t.Fatal(err)
		}
		if msg := checkFaultRewritten(msgs[0], msgs[0].Header(), 7); msg != "" {
			t.Error(msg)
		}
		if p := e.metric("edgerewrite_panics_total"); p != 0 {
			t.Errorf("edgerewrite_panics_total = %v", p)
		}
	})
}
