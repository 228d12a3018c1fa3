package integration

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// calendarThroughDKIM sends, from tenant A through the dkim example (edgerewrite, then
// OpenDKIM signing for contoso.com), an Outlook meeting response (base64 text/calendar
// METHOD:REPLY) and an invitation (quoted-printable, folded ATTENDEE lines with CN= and RSVP=,
// attendees of both tenants and outside). What leaves has every internal ORGANIZER and ATTENDEE
// address rewritten, every other byte as it went in (calendar parts compared decoded), and an
// OpenDKIM signature that verifies.
func calendarThroughDKIM(t *testing.T, ex *example, dk *openDKIM) {
	// Tenant A's whole domain, so that every tenant A attendee has a rule.
	rules := filepath.Join(ex.rulesDir, "calendar.rules")
	if err := os.WriteFile(rules, []byte("tenanta.contoso.com contoso.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(deliveryTimeout)
	for {
		if v, ok, _ := harness.ScrapeMetric(ex.metrics, "edgerewrite_rules_loaded"); ok && v == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the calendar rule did not load")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, name := range []string{"outlook-reply.eml", "outlook-request.eml"} {
		t.Run(name, func(t *testing.T) {
			ex.internet.Reset()
			raw, err := os.ReadFile(filepath.Join("..", "rewrite", "testdata", "calendar", name))
			if err != nil {
				t.Fatal(err)
			}
			sent := bytes.ReplaceAll(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
			ex.mustSend("203.0.113.26:smtp", ex.fromExchangeOnline(harness.Envelope{
				From: "john@tenanta.contoso.com", Rcpts: harness.Rcpts("paul@fabrikam.example"), Data: sent,
			}))
			msgs, err := ex.internet.WaitFor(1, deliveryTimeout)
			if err != nil {
				t.Fatal(err)
			}
			got := msgs[0].Data
			if out := dk.verify(t, got); !strings.Contains(out, "s=gw2026, d=contoso.com") || !strings.Contains(out, ") succeeded") {
				t.Errorf("opendkim did not verify the contoso.com signature:\n%s", out)
			}
			wantParts, gotParts := mimeLeaves(t, sent), mimeLeaves(t, got)
			if len(wantParts) != len(gotParts) {
				t.Fatalf("%d parts arrived, %d were sent", len(gotParts), len(wantParts))
			}
			rewritten := 0
			for i, w := range wantParts {
				g := gotParts[i]
				if w.header != g.header {
					t.Errorf("part %d header changed:\n got %q\nwant %q", i+1, g.header, w.header)
				}
				if !strings.HasPrefix(strings.ToLower(w.contentType), "text/calendar") {
					if !bytes.Equal(w.decoded, g.decoded) {
						t.Errorf("part %d (%s) changed", i+1, w.contentType)
					}
					continue
				}
				wl, gl := icalLines(w.decoded), icalLines(g.decoded)
				if len(wl) != len(gl) {
					t.Fatalf("calendar part: %d lines arrived, %d sent", len(gl), len(wl))
				}
				for j := range wl {
					want := wl[j]
					prop := strings.ToUpper(strings.SplitN(strings.SplitN(want, ":", 2)[0], ";", 2)[0])
					if prop == "ORGANIZER" || prop == "ATTENDEE" {
						want = tenantADomain.ReplaceAllString(want, "@contoso.com")
						if want != wl[j] {
							rewritten++
						}
					}
					if gl[j] != want {
						t.Errorf("calendar line %d:\n got %q\nwant %q", j+1, gl[j], want)
					}
				}
			}
			if rewritten == 0 {
				t.Error("no calendar address needed rewriting: the test proves nothing")
			}
			if bytes.Contains(got, []byte("ORGANIZER;CN=John Smith:mailto:john@tenanta")) {
				t.Error("an internal organizer left the gateway")
			}
		})
	}
}

// tenantADomain is tenant A's domain in an address, in any letter case (as rules match).
var tenantADomain = regexp.MustCompile(`(?i)@tenanta\.contoso\.com`)

// mimeLeaf is one non-multipart part of a message: its header as written and its content,
// transfer encoding decoded.
type mimeLeaf struct {
	contentType, header string
	decoded             []byte
}

// mimeLeaves lists the leaf parts of a message in order (go-message does the MIME work).
func mimeLeaves(t *testing.T, msg []byte) []mimeLeaf {
	t.Helper()
	e, err := message.Read(bytes.NewReader(msg))
	if err != nil && !message.IsUnknownCharset(err) {
		t.Fatal(err)
	}
	var out []mimeLeaf
	var walk func(e *message.Entity)
	walk = func(e *message.Entity) {
		if mr := e.MultipartReader(); mr != nil {
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					return
				}
				if err != nil && !message.IsUnknownCharset(err) {
					t.Fatal(err)
				}
				walk(p)
			}
		}
		ct, _, _ := e.Header.ContentType()
		var hb bytes.Buffer
		fields := e.Header.Fields()
		for fields.Next() {
			raw, _ := fields.Raw()
			hb.Write(raw)
		}
		decoded, err := io.ReadAll(e.Body)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, mimeLeaf{contentType: ct, header: hb.String(), decoded: decoded})
	}
	walk(e)
	return out
}

// icalLines unfolds iCalendar content lines (RFC 5545 §3.1).
func icalLines(b []byte) []string {
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\n ", ""), "\n\t", "")
	return strings.Split(strings.TrimRight(s, "\n"), "\n")
}
