package decide

import (
	"testing"

	"github.com/edgerewrite/edgerewrite/rewrite"
)

// TestWantsBody: the body is read only where calendar data may be rewritten: the direction's
// switch is on, the Content-Type can hold a calendar part, and inbound ("unsigned") no
// signature covers the body.
func TestWantsBody(t *testing.T) {
	snap, pol := decideFixtures(t, nil)
	multipart := rewrite.Header{Name: "Content-Type", Value: " multipart/alternative; boundary=x"}
	plain := rewrite.Header{Name: "Content-Type", Value: " text/plain"}
	signed := rewrite.Header{Name: "DKIM-Signature", Value: " v=1; d=example.net; h=from; bh=x; b=y"}
	arc := rewrite.Header{Name: "ARC-Message-Signature", Value: " i=1; d=example.net; h=from; bh=x; b=y"}
	tests := []struct {
		name    string
		opts    Options
		out     bool
		headers []rewrite.Header
		want    bool
	}{
		{"outbound invitation", Options{CalendarOutbound: true}, true, []rewrite.Header{multipart}, true},
		{"outbound, switched off", Options{CalendarOutbound: false, CalendarInbound: "always"}, true, []rewrite.Header{multipart}, false},
		{"outbound text/plain", Options{CalendarOutbound: true}, true, []rewrite.Header{plain}, false},
		{"outbound without Content-Type", Options{CalendarOutbound: true}, true, nil, false},
		{"inbound unsigned", Options{CalendarInbound: "unsigned"}, false, []rewrite.Header{multipart}, true},
		{"inbound DKIM-signed", Options{CalendarInbound: "unsigned"}, false, []rewrite.Header{signed, multipart}, false},
		{"inbound ARC-signed", Options{CalendarInbound: "unsigned"}, false, []rewrite.Header{arc, multipart}, false},
		{"inbound signed, always", Options{CalendarInbound: "always"}, false, []rewrite.Header{signed, multipart}, true},
		{"inbound never", Options{CalendarInbound: "never", CalendarOutbound: true}, false, []rewrite.Header{multipart}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := &Generation{Policy: pol, Rules: snap, Options: tc.opts}
			conn := connInternet
			if tc.out {
				conn = connTenantA
			}
			m := g.Begin(conn, "s@example.net", testNow)
			for _, h := range tc.headers {
				m.Header(h.Name, h.Value)
			}
			if got := m.WantsBody(); got != tc.want {
				t.Errorf("WantsBody = %v, want %v", got, tc.want)
			}
		})
	}
}
