package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// TestFaultMalformedFrom sends each message of testdata/fault/malformed/ (a From field that is
// not a valid mailbox-list) from tenant A: it must be delivered with that field byte-identical,
// the other address fields and the envelope sender still rewritten, and each one counted in
// edgerewrite_headers_unparsed_total. The same daemon also shows that a release build ignores
// the fault-injection header.
func TestFaultMalformedFrom(t *testing.T) {
	e := newFaultEnv(t, harness.MustBuildEdgerewrite(t), nil)
	files, err := filepath.Glob(filepath.Join("testdata", "fault", "malformed", "*.eml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/fault/malformed/*.eml (%v)", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".eml"), func(t *testing.T) {
			e.sink.Reset()
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			data := []byte(strings.ReplaceAll(string(raw), "\n", "\r\n"))
			sent, _, err := harness.ParseMessage(data)
			if err != nil {
				t.Fatal(err)
			}
			before := e.metric("edgerewrite_headers_unparsed_total")
			harness.MustSend(t, e.tenantA, harness.Envelope{LocalAddr: tenantRelay, From: "john@tenanta.contoso.com", Rcpts: harness.Rcpts("partner@fabrikam.example"), Data: data})
			msgs, err := e.sink.WaitFor(1, deliveryTimeout)
			if err != nil {
				t.Fatal(err)
			}
			m := msgs[0]
			got := m.Header()
			sentFrom, _ := sent.Field("From", 1)
			gotFrom, _ := got.Field("From", 1)
			if gotFrom.Raw != sentFrom.Raw {
				t.Errorf("From changed:\n sent %q\n  got %q", sentFrom.Raw, gotFrom.Raw)
			}
			if m.From != "john@contoso.com" {
				t.Errorf("MAIL FROM <%s>, want <john@contoso.com>", m.From)
			}
			for field, want := range map[string]string{"Cc": "Jane Doe <jane@contoso.com>", "Reply-To": "john@contoso.com", "To": "Partner <partner@fabrikam.example>"} {
				if f, _ := got.Field(field, 1); f.Text() != want {
					t.Errorf("%s: %q, want %q", field, f.Text(), want)
				}
			}
			if after := e.metric("edgerewrite_headers_unparsed_total"); after != before+1 {
				t.Errorf("edgerewrite_headers_unparsed_total went from %v to %v, want +1", before, after)
			}
			t.Logf("From kept as sent: %q; Cc %q, Reply-To %q, MAIL FROM <%s>", strings.TrimSpace(gotFrom.Value),
				strings.TrimSpace(got.Get("Cc")), strings.TrimSpace(got.Get("Reply-To")), m.From)
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
