package config

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/edgerewrite/edgerewrite/policy"
)

// Sentinels for errors.Is on config problems.
var (
	ErrBadListen     = errors.New("bad listen address")
	ErrBadSocketMode = errors.New("bad socket mode")
	ErrBadMetrics    = errors.New("bad metrics address")
	ErrBadRulesDir   = errors.New("bad rules directory")
	ErrBadLog        = errors.New("bad log setting")
)

// maxUnixPath is the longest unix socket path the kernel takes (sun_path is 108 bytes with NUL).
const maxUnixPath = 107

// validate checks every daemon setting and builds the policy; it returns every problem.
func (c *Config) validate() error {
	var errs []error
	add := func(key string, err error) {
		errs = append(errs, &ConfigError{File: c.path, Line: c.lines[key], Err: err})
	}
	if _, _, err := c.ListenAddr(); err != nil {
		add("listen", err)
	}
	if _, err := c.SocketFileMode(); err != nil {
		add("socket_mode", err)
	}
	if c.MetricsListen != "" {
		if err := checkHostPort(c.MetricsListen); err != nil {
			add("metrics_listen", fmt.Errorf("%w: metrics_listen %q: %w", ErrBadMetrics, c.MetricsListen, err))
		}
	}
	if err := checkRulesDir(c.RulesDir); err != nil {
		add("rules_dir", err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		add("log_format", fmt.Errorf("%w: log_format %q: use \"text\" or \"json\"", ErrBadLog, c.LogFormat))
	}
	switch c.InboundHeaderRewrite {
	case InboundUnsigned, InboundAlways, InboundNever:
	default:
		add("inbound_header_rewrite", fmt.Errorf("inbound_header_rewrite %q: use %q (leave a To or Cc that a DKIM signature covers as it is), %q or %q",
			c.InboundHeaderRewrite, InboundUnsigned, InboundAlways, InboundNever))
	}
	switch c.CalendarInbound {
	case "", "unsigned", "always", "never":
	default:
		add("calendar_inbound", fmt.Errorf("calendar_inbound %q: use \"unsigned\", \"always\" or \"never\"", c.CalendarInbound))
	}
	if c.CalendarMaxBytes < 0 || c.CalendarMaxBytes > 1<<30 {
		add("calendar_max_bytes", fmt.Errorf("calendar_max_bytes %d: want 0 (the default, %d) up to 1073741824", c.CalendarMaxBytes, DefaultCalendarMaxBytes))
	}
	if g := c.GuardShare(); g < 0 || g > 1 {
		add("reload_guard_share", fmt.Errorf("reload_guard_share %v: want a share from 0 (hold every edit that removes a rule) to 1 (never hold)", g))
	}
	if _, err := ParseLevel(c.LogLevel); err != nil {
		add("log_level", err)
	}
	c.Limits.validate(add)
	pc := c.Config
	pc.RecipientDelimiter = c.Delimiter()
	p, err := policy.New(pc)
	if err != nil {
		for _, e := range Problems(err) {
			line := 0
			if pe, ok := errors.AsType[*policy.ConfigError](e); ok {
				line = lineOf(c.lines, pe.KeyPath())
			}
			errs = append(errs, &ConfigError{File: c.path, Line: line, Err: e})
		}
	}
	c.policy = p
	sortByLine(errs)
	return errors.Join(errs...)
}

// CheckHost checks what only the machine that serves can tell: the unix socket's directory
// exists and socket_group names a group. `check` and `serve` run it; `test` does not.
func (c *Config) CheckHost() error {
	network, addr, err := c.ListenAddr()
	if err != nil || network != "unix" {
		return nil // validate reported it; inet needs nothing here
	}
	var errs []error
	if st, err := os.Stat(filepath.Dir(addr)); err != nil || !st.IsDir() {
		errs = append(errs, &ConfigError{File: c.path, Line: c.lines["listen"],
			Err: fmt.Errorf("%w: socket directory %q does not exist", ErrBadListen, filepath.Dir(addr))})
	}
	if c.SocketGroup != "" {
		if _, err := user.LookupGroup(c.SocketGroup); err != nil {
			errs = append(errs, &ConfigError{File: c.path, Line: c.lines["socket_group"],
				Err: fmt.Errorf("socket_group %q: no such group", c.SocketGroup)})
		}
	}
	return errors.Join(errs...)
}

// ListenAddr splits Listen into a net.Listen network and address. A relative unix path is taken
// relative to the config file's directory.
func (c *Config) ListenAddr() (network, addr string, err error) {
	kind, rest, ok := strings.Cut(c.Listen, ":")
	switch {
	case ok && kind == "unix":
		if rest == "" {
			return "", "", fmt.Errorf("%w: %q has no socket path", ErrBadListen, c.Listen)
		}
		if !filepath.IsAbs(rest) {
			rest = filepath.Join(filepath.Dir(c.path), rest)
		}
		if len(rest) > maxUnixPath {
			return "", "", fmt.Errorf("%w: socket path %q is longer than %d bytes", ErrBadListen, rest, maxUnixPath)
		}
		return "unix", rest, nil
	case ok && kind == "inet":
		if err := checkHostPort(rest); err != nil {
			return "", "", fmt.Errorf("%w: %q: %w", ErrBadListen, c.Listen, err)
		}
		return "tcp", rest, nil
	}
	return "", "", fmt.Errorf("%w: %q: write \"unix:/path/to/socket\" or \"inet:127.0.0.1:PORT\"", ErrBadListen, c.Listen)
}

// checkHostPort accepts "IP:PORT" or "localhost:PORT" where IP is a loopback or one specific
// address: a listener on every interface must be written out, never implied by ":PORT" or 0.0.0.0.
func checkHostPort(hp string) error {
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		return fmt.Errorf("want HOST:PORT (IPv6 as [::1]:PORT): %w", err)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	if host == "localhost" {
		return nil
	}
	if host == "" {
		return errors.New("without a host it would listen on every interface; name 127.0.0.1 or one specific address")
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("host %q is not an IP address (use 127.0.0.1, ::1 or one address of this machine)", host)
	}
	if ip.IsUnspecified() {
		return fmt.Errorf("host %q would listen on every interface; name 127.0.0.1 or one specific address", host)
	}
	return nil
}

// SocketFileMode parses SocketMode as octal permission bits.
func (c *Config) SocketFileMode() (os.FileMode, error) {
	m, err := strconv.ParseUint(c.SocketMode, 8, 32)
	if err != nil || m > 0o777 {
		return 0, fmt.Errorf("%w: socket_mode %q: want octal permissions such as \"0660\"", ErrBadSocketMode, c.SocketMode)
	}
	if m&^0o660 != 0 && !c.AllowWideSocketMode {
		return 0, fmt.Errorf("%w: socket_mode %q is wider than \"0660\": it lets local users outside socket_group "+
			"change how mail is rewritten; Postfix needs only the group (set allow_wide_socket_mode = true to use it anyway)",
			ErrBadSocketMode, c.SocketMode)
	}
	return os.FileMode(m), nil
}

func checkRulesDir(dir string) error {
	if dir == "" {
		return fmt.Errorf("%w: rules_dir is empty", ErrBadRulesDir)
	}
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: rules_dir %q does not exist", ErrBadRulesDir, dir)
	}
	if err != nil {
		return fmt.Errorf("%w: rules_dir %q: %w", ErrBadRulesDir, dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%w: rules_dir %q is not a directory", ErrBadRulesDir, dir)
	}
	return nil
}

// ParseLevel maps a log_level value to a slog level.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%w: log_level %q: use \"debug\", \"info\", \"warn\" or \"error\"", ErrBadLog, s)
}

// sortByLine puts problems in file order; those without a line go last.
func sortByLine(errs []error) {
	line := func(e error) int {
		if ce, ok := e.(*ConfigError); ok && ce.Line > 0 {
			return ce.Line
		}
		return math.MaxInt
	}
	slices.SortStableFunc(errs, func(a, b error) int { return cmp.Compare(line(a), line(b)) })
}

// Problems splits an errors.Join result into its parts (and theirs), one per problem an admin
// must fix; nil gives none, and any other error, even one wrapping several, is one problem.
func Problems(err error) []error {
	if err == nil {
		return nil
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	parts := j.Unwrap()
	msgs := make([]string, len(parts))
	for i, e := range parts {
		msgs[i] = e.Error()
	}
	if strings.Join(msgs, "\n") != err.Error() {
		return []error{err}
	}
	var out []error
	for _, e := range parts {
		out = append(out, Problems(e)...)
	}
	return out
}
