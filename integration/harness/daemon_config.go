package harness

import (
	"fmt"
	"os"
	"strings"
)

// DaemonConfig is the part of edgerewrite's TOML config the harness writes; Extra carries the
// rest (observe, [organization], [[connector]], [[tenant]], ...) as TOML text.
type DaemonConfig struct {
	// Listen defaults to "inet:127.0.0.1:PORT" on a free port.
	Listen string
	// RulesDir is rules_dir.
	RulesDir string
	// MetricsListen defaults to 127.0.0.1 and a free port (never the shared default 9754);
	// "off" writes metrics_listen = "" (metrics off).
	MetricsListen string
	// LogFormat and LogLevel are written when set.
	LogFormat, LogLevel string
	// Extra is appended as is; top-level keys must come before its first table.
	Extra string
}

// WriteDaemonConfig fills the defaults of c, writes it to path (TOML) and returns it filled.
func WriteDaemonConfig(path string, c DaemonConfig) (DaemonConfig, error) {
	if c.Listen == "" {
		port, err := FreePort()
		if err != nil {
			return c, err
		}
		c.Listen = fmt.Sprintf("inet:127.0.0.1:%d", port)
	}
	switch c.MetricsListen {
	case "":
		port, err := FreePort()
		if err != nil {
			return c, err
		}
		c.MetricsListen = fmt.Sprintf("127.0.0.1:%d", port)
	case "off":
		c.MetricsListen = ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by edgerewrite's integration harness.\nlisten = %q\nmetrics_listen = %q\n", c.Listen, c.MetricsListen)
	if c.RulesDir != "" {
		fmt.Fprintf(&b, "rules_dir = %q\n", c.RulesDir)
	}
	if c.LogFormat != "" {
		fmt.Fprintf(&b, "log_format = %q\n", c.LogFormat)
	}
	if c.LogLevel != "" {
		fmt.Fprintf(&b, "log_level = %q\n", c.LogLevel)
	}
	if c.Extra != "" {
		b.WriteString(c.Extra + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return c, fmt.Errorf("write edgerewrite config: %w", err)
	}
	return c, nil
}
