package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// daemonPolicy makes 127.0.0.0/8 tenant A's connector, so every benchmark message is
// outbound: envelope sender, From and Reply-To internal -> external, To/Cc internal ->
// external (rewrite_outbound_to_cc, on by default), envelope recipients external -> internal
// (hairpin). That is every address of the message, as the canonical maps of (b) do.
const daemonPolicy = `
[organization]
domains = ["contoso.com", "tenanta.contoso.com"]

[[connector]]
name = "bench"
tenant = "tenant-a"
networks = ["127.0.0.0/8"]

[[tenant]]
name = "tenant-a"
sender_domains = ["tenanta.contoso.com"]
`

// startDaemon writes dir/edgerewrite.toml (milter on the unix socket dir/edgerewrite.sock, as
// packaged, rules from rulesDir; calendarOff sets calendar_outbound = false) and starts
// `bin serve -c` on it with env added to its environment.
func startDaemon(bin, dir, rulesDir, logLevel string, calendarOff bool, env ...string) (*harness.Edgerewrite, error) {
	path := filepath.Join(dir, "edgerewrite.toml")
	extra := daemonPolicy
	if calendarOff {
		extra = "calendar_outbound = false\n" + extra
	}
	_, err := harness.WriteDaemonConfig(path, harness.DaemonConfig{
		Listen:   "unix:" + filepath.Join(dir, "edgerewrite.sock"),
		RulesDir: rulesDir,
		LogLevel: logLevel,
		Extra:    extra,
	})
	if err != nil {
		return nil, err
	}
	d, err := harness.StartEdgerewrite(bin, path, env...)
	if err != nil {
		return nil, fmt.Errorf("start edgerewrite: %w", err)
	}
	return d, nil
}

// readDaemonLog reads the daemon's log (text format) from offset on and returns its ERROR
// lines as problems and its WARN lines as warnings, and the offset of the end of the last
// whole line. A clean benchmark message gives the daemon nothing to complain about.
func readDaemonLog(path string, offset int64) (logCounts, int64, error) {
	var c logCounts
	end, err := scanLines(path, offset, func(line string) {
		switch {
		case strings.Contains(line, "level=ERROR"):
			c.note(line)
		case strings.Contains(line, "level=WARN"):
			c.warn(line)
		}
	})
	return c, end, err
}
