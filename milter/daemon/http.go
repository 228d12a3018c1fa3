package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/edgerewrite/edgerewrite/milter"
)

// NewRegistry returns a Prometheus registry with the Go runtime and process collectors, the
// daemon's reload metrics and the milter sessions' metrics registered on it.
func NewRegistry() (*prometheus.Registry, *Metrics, *milter.Metrics) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg, NewMetrics(reg), milter.NewMetrics(reg)
}

// HealthFunc reports whether the daemon is healthy, and if not, why.
type HealthFunc func() (ok bool, reason string)

// Status is what the daemon serves, for people and tools (`edgerewrite check` reads it to show a
// held edit): the generation in service and the edit the reload guard holds.
type Status struct {
	// Generation numbers the generation in service (0: none yet).
	Generation uint64 `json:"generation"`
	// Rules is the number of rules in service.
	Rules int `json:"rules"`
	// RulesFingerprint and PolicyFingerprint identify the rules and the policy in service: the
	// gateways of a fleet that serve the same show the same (rewrite.Snapshot.Fingerprint,
	// config.Config.PolicyFingerprint).
	RulesFingerprint  string `json:"rules_fingerprint"`
	PolicyFingerprint string `json:"policy_fingerprint"`
	// Held lists what the held edit would remove; empty when no edit is held.
	Held []string `json:"held,omitempty"`
}

// NewHTTPHandler serves GET /metrics (the registry, in the Prometheus exposition formats),
// GET /healthz (200 "ok" when health says so, 503 with the reason otherwise, then the status as
// "key: value" lines) and GET /status (the status as JSON). status may be nil.
func NewHTTPHandler(reg *prometheus.Registry, health HealthFunc, status func() Status, log *slog.Logger) http.Handler {
	if status == nil {
		status = func() Status { return Status{} }
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelError),
		EnableOpenMetrics: true,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		ok, reason := health()
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, reason+"\n")
		} else {
			io.WriteString(w, "ok\n")
		}
		st := status()
		fmt.Fprintf(w, "generation: %d\nrules: %d\nrules_fingerprint: %s\npolicy_fingerprint: %s\n",
			st.Generation, st.Rules, st.RulesFingerprint, st.PolicyFingerprint)
		for _, h := range st.Held {
			fmt.Fprintf(w, "held: would remove %s\n", h)
		}
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(status())
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "edgerewrite: see /metrics, /healthz and /status", http.StatusNotFound)
	})
	return mux
}

// httpServer is the metrics and health listener.
type httpServer struct {
	srv *http.Server
	l   net.Listener
}

// listenHTTP opens addr for the handler; serve it with Serve.
func listenHTTP(addr string, h http.Handler, log *slog.Logger) (*httpServer, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics_listen %q: %w", addr, err)
	}
	return &httpServer{l: l, srv: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}, nil
}

// Addr is the address the listener is bound to.
func (h *httpServer) Addr() net.Addr { return h.l.Addr() }

// Serve serves until Shutdown; it returns nil after Shutdown.
func (h *httpServer) Serve() error {
	if err := h.srv.Serve(h.l); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics listener: %w", err)
	}
	return nil
}

// Shutdown stops the listener and waits (up to ctx) for requests in progress.
func (h *httpServer) Shutdown(ctx context.Context) error { return h.srv.Shutdown(ctx) }
