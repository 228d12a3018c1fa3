package daemon

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

func TestHTTPHandler(t *testing.T) {
	reg, m, _ := NewRegistry()
	m.ObserveReload(true, 42, time.Now())
	healthy, reason := false, "rules never loaded"
	h := NewHTTPHandler(reg, func() (bool, string) { return healthy, reason }, nil, slog.New(slog.DiscardHandler))

	get := func(path string) (int, string) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		b, _ := io.ReadAll(rec.Result().Body)
		return rec.Code, string(b)
	}
	tests := []struct {
		name     string
		healthy  bool
		path     string
		wantCode int
		want     string
	}{
		{"unhealthy", false, "/healthz", 503, "rules never loaded\n"},
		{"healthy", true, "/healthz", 200, "ok\n"},
		{"metrics", true, "/metrics", 200, "edgerewrite_rules_loaded 42"},
		{"go collector", true, "/metrics", 200, "go_goroutines "},
		{"process collector", true, "/metrics", 200, "process_cpu_seconds_total "},
		{"other path", true, "/", 404, "/metrics, /healthz and /status"},
		{"status", true, "/status", 200, `{"generation":0,"rules":0,"rules_fingerprint":"","policy_fingerprint":""}`},
	}
	for _, tt := range tests {
		healthy = tt.healthy
		code, body := get(tt.path)
		if code != tt.wantCode || !strings.Contains(body, tt.want) {
			t.Errorf("%s: GET %s = %d %q, want %d with %q", tt.name, tt.path, code, body, tt.wantCode, tt.want)
		}
	}
}

// TestMetricNames lints every metric of the registry the daemon serves, as CoreDNS does.
func TestMetricNames(t *testing.T) {
	reg, _, _ := NewRegistry()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "edgerewrite_") {
			t.Errorf("metric %s: %s", p.Metric, p.Text)
		}
	}
}
