package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/edgerewrite/edgerewrite/milter/config"
	"github.com/edgerewrite/edgerewrite/milter/daemon"
)

// statusTimeout bounds the question to a running daemon: check must never hang on it.
const statusTimeout = 2 * time.Second

// printDaemonStatus asks the daemon serving cfg (its /status on metrics_listen) what it serves
// and whether its reload guard holds an edit, and prints what that edit would remove. A daemon
// that does not answer (not running on this host, metrics off) is no problem: check is about
// the files.
func printDaemonStatus(w io.Writer, cfg *config.Config) {
	if cfg.MetricsListen == "" {
		return
	}
	client := &http.Client{Timeout: statusTimeout}
	resp, err := client.Get("http://" + cfg.MetricsListen + "/status")
	if err != nil {
		return
	}
	defer resp.Body.Close()
	var st daemon.Status
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&st) != nil {
		return
	}
	fmt.Fprintf(w, "daemon on %s: generation %d, %s in service\n", cfg.MetricsListen, st.Generation, plural(st.Rules, "rule"))
	for _, h := range st.Held {
		fmt.Fprintf(w, "held edit: would remove %s; `systemctl reload edgerewrite` applies it\n", h)
	}
}
