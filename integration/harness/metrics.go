package harness

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// ScrapeMetric reads edgerewrite's /metrics at addr (host:port) and returns the value of one
// series, written as the exposition format writes it: a bare name ("edgerewrite_rules_loaded")
// or a name with its labels (`edgerewrite_reloads_total{result="success"}`). found is false
// (and value 0) when the series is not there, as a counter that never counted is not.
func ScrapeMetric(addr, series string) (value float64, found bool, err error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, false, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false, fmt.Errorf("metrics http://%s/metrics: %s", addr, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		if strings.HasPrefix(line, "#") || i < 0 || line[:i] != series {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return 0, false, fmt.Errorf("metrics line %q: %w", line, err)
		}
		return v, true, nil
	}
	if err := sc.Err(); err != nil {
		return 0, false, fmt.Errorf("metrics http://%s/metrics: %w", addr, err)
	}
	return 0, false, nil
}
