package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// fleetStatus is what a daemon's /status says of the generation it serves.
type fleetStatus struct {
	Generation        uint64 `json:"generation"`
	RulesFingerprint  string `json:"rules_fingerprint"`
	PolicyFingerprint string `json:"policy_fingerprint"`
}

func getStatus(t *testing.T, metrics string) fleetStatus {
	t.Helper()
	resp, err := http.Get("http://" + metrics + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st fleetStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestE2EFleetFingerprint runs two gateways' daemons on copies of the same rules and config, as
// configuration management deploys them: both report the same fingerprints (in /status and in
// edgerewrite_generation_info); after an edit to one gateway's rules they differ, and a monitoring
// query on the info metric tells which.
func TestE2EFleetFingerprint(t *testing.T) {
	bin := harness.MustBuildEdgerewrite(t)
	dir := e2eDir(t)
	policy := e2eRead(t, "reload.toml")
	gw1 := e2eStartDaemon(t, bin, dir, "gw1", "", "", policy, "daemon-rules")
	gw2 := e2eStartDaemon(t, bin, dir, "gw2", "", "", policy, "daemon-rules")
	s1, s2 := getStatus(t, gw1.Metrics), getStatus(t, gw2.Metrics)
	if s1.RulesFingerprint == "" || s1.RulesFingerprint != s2.RulesFingerprint || s1.PolicyFingerprint != s2.PolicyFingerprint {
		t.Fatalf("the same rules and policy: gw1 %+v, gw2 %+v", s1, s2)
	}
	info := func(metrics, fp string) float64 {
		t.Helper()
		v, _, err := harness.ScrapeMetric(metrics, fmt.Sprintf(`edgerewrite_generation_info{policy_fingerprint=%q,rules_fingerprint=%q}`, s1.PolicyFingerprint, fp))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if info(gw1.Metrics, s1.RulesFingerprint) != 1 || info(gw2.Metrics, s1.RulesFingerprint) != 1 {
		t.Error("edgerewrite_generation_info does not carry the fingerprints of /status")
	}

	e2eAtomicWrite(t, filepath.Join(gw2.RulesDir, "new.rules"), "carol@tenanta.contoso.com carol@contoso.com\n")
	deadline := time.Now().Add(e2eTimeout)
	for getStatus(t, gw2.Metrics).Generation == s2.Generation {
		if time.Now().After(deadline) {
			t.Fatal("gw2 did not reload")
		}
		time.Sleep(20 * time.Millisecond)
	}
	n1, n2 := getStatus(t, gw1.Metrics), getStatus(t, gw2.Metrics)
	if n1.RulesFingerprint != s1.RulesFingerprint || n2.RulesFingerprint == n1.RulesFingerprint {
		t.Errorf("after an edit to gw2 only: gw1 %s, gw2 %s; want gw1 unchanged and gw2 different", n1.RulesFingerprint, n2.RulesFingerprint)
	}
	if n2.PolicyFingerprint != n1.PolicyFingerprint {
		t.Errorf("a rules edit changed the policy fingerprint")
	}
	if info(gw2.Metrics, n2.RulesFingerprint) != 1 || info(gw2.Metrics, s1.RulesFingerprint) != 0 {
		t.Error("gw2's edgerewrite_generation_info still shows the old fingerprint")
	}
}
