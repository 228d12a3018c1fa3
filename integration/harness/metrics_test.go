package harness

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestScrapeMetric(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, `# HELP edgerewrite_rules_loaded Rules in the table.
# TYPE edgerewrite_rules_loaded gauge
edgerewrite_rules_loaded 5
edgerewrite_reloads_total{result="success"} 2
edgerewrite_reloads_total{result="failure"} 0
edgerewrite_config_last_reload_success_timestamp_seconds 1.7634528e+09
edgerewrite_broken NaNx
`)
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		series  string
		want    float64
		found   bool
		wantErr string
	}{
		{"edgerewrite_rules_loaded", 5, true, ""},
		{`edgerewrite_reloads_total{result="success"}`, 2, true, ""},
		{`edgerewrite_reloads_total{result="failure"}`, 0, true, ""},
		{"edgerewrite_config_last_reload_success_timestamp_seconds", 1.7634528e+09, true, ""},
		{"edgerewrite_reloads_total", 0, false, ""},
		{"edgerewrite_rules", 0, false, ""},
		{"# TYPE edgerewrite_rules_loaded", 0, false, ""},
		{"edgerewrite_broken", 0, false, `metrics line "edgerewrite_broken NaNx"`},
	}
	for _, tt := range tests {
		v, found, err := ScrapeMetric(addr, tt.series)
		if v != tt.want || found != tt.found || (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("ScrapeMetric(%s) = %v, %v, %v; want %v, %v, error %q", tt.series, v, found, err, tt.want, tt.found, tt.wantErr)
		}
	}
	srv.Close()
	if _, _, err := ScrapeMetric(addr, "edgerewrite_rules_loaded"); err == nil {
		t.Error("no error from a closed server")
	}
}
