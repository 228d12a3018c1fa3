package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/edgerewrite/edgerewrite/policy"
	"github.com/edgerewrite/edgerewrite/rewrite"
)

// DefaultConfigPath is where the packages install the config file.
const DefaultConfigPath = "/etc/edgerewrite/edgerewrite.toml"

// Defaults of the daemon settings; packaging/edgerewrite.toml documents each.
const (
	// DefaultListen is inside Postfix's chroot (/var/spool/postfix), so smtpd reaches it as
	// "unix:edgerewrite/edgerewrite.sock" whether or not it runs chrooted.
	DefaultListen             = "unix:/var/spool/postfix/edgerewrite/edgerewrite.sock"
	DefaultSocketMode         = "0660"
	DefaultSocketGroup        = "postfix"
	DefaultRulesDir           = "/etc/edgerewrite/rules"
	DefaultRecipientDelimiter = "+"
	DefaultMetricsListen      = "127.0.0.1:9754"
	DefaultLogFormat          = "text"
	DefaultLogLevel           = "info"
	// DefaultCalendarInbound rewrites inbound calendar data unless a DKIM signature covers it.
	DefaultCalendarInbound = "unsigned"
	// DefaultCalendarMaxBytes is Postfix's default message_size_limit: a meeting invitation
	// with its attachments fits.
	DefaultCalendarMaxBytes = 10240000
	// DefaultReloadGuardShare: an automatic reload that would remove more than a tenth of the
	// rules in service waits for `systemctl reload edgerewrite`.
	DefaultReloadGuardShare = 0.10
)

// Config is the one config file of the daemon: the daemon settings below plus the policy
// settings (observe, organization, connector, tenant, domain, cutover) of the embedded
// policy.Config, all at the top level of the TOML file.
type Config struct {
	// Listen is the milter socket: "unix:/path" or "inet:IP:PORT".
	Listen string `toml:"listen"`
	// SocketMode is the octal permission of a unix socket, as a string: "0660".
	SocketMode string `toml:"socket_mode"`
	// AllowWideSocketMode allows a socket_mode wider than 0660: without it, such a mode (which
	// lets local users outside socket_group talk to the milter) is refused.
	AllowWideSocketMode bool `toml:"allow_wide_socket_mode"`
	// SocketGroup owns a unix socket. Empty means "postfix" when that group exists.
	SocketGroup string `toml:"socket_group"`
	// RulesDir holds the *.rules and *.csv rule files and the *.cutover lists. Relative to the
	// config file's directory.
	RulesDir string `toml:"rules_dir"`
	// RecipientDelimiter is like Postfix's recipient_delimiter; "" turns extensions off.
	RecipientDelimiter *string `toml:"recipient_delimiter"`
	// RewriteOutboundToCc rewrites internal addresses in To and Cc of outbound mail too.
	RewriteOutboundToCc *bool `toml:"rewrite_outbound_to_cc"`
	// InboundHeaderRewrite says when To and Cc of inbound mail are rewritten: "unsigned" (the
	// default), "always" or "never" (see the Inbound* constants).
	InboundHeaderRewrite string `toml:"inbound_header_rewrite"`
	// MetricsListen is the HTTP address of /metrics and /healthz; "" turns it off.
	MetricsListen string `toml:"metrics_listen"`
	// LogFormat is "text" or "json".
	LogFormat string `toml:"log_format"`
	// LogLevel is "debug", "info", "warn" or "error".
	LogLevel string `toml:"log_level"`
	// CalendarOutbound rewrites the ORGANIZER and ATTENDEE addresses of calendar data in
	// outbound mail (meeting invitations and responses). nil is true.
	CalendarOutbound *bool `toml:"calendar_outbound"`
	// CalendarInbound is when calendar data of inbound mail is rewritten: "unsigned" (only
	// when no DKIM signature covers the body, the default), "always" or "never".
	CalendarInbound string `toml:"calendar_inbound"`
	// CalendarMaxBytes is the largest message body read for calendar data; a larger one
	// passes with its calendar data unchanged (counted). 0 is DefaultCalendarMaxBytes.
	CalendarMaxBytes int `toml:"calendar_max_bytes"`
	// Limits bound what a milter client can make the daemon hold ([limits]).
	Limits Limits `toml:"limits"`
	// ReloadGuardShare is the share of the rules in service (0 to 1) that an automatic reload
	// may remove; an edit that removes more is held until confirmed with SIGHUP. nil is
	// DefaultReloadGuardShare.
	ReloadGuardShare *float64 `toml:"reload_guard_share"`

	policy.Config

	path   string         // the file it was read from
	policy *policy.Policy // built from policy.Config by LoadConfig
	lines  map[string]int // key path -> line, for error messages
}

// ConfigError is one problem with a config file, at a line when it is known.
type ConfigError struct {
	File string
	Line int // 0 when the problem is not tied to one line
	Err  error
}

// Error returns "file:line: problem" (or "file: problem").
func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

// Unwrap returns the underlying problem.
func (e *ConfigError) Unwrap() error { return e.Err }

// ErrUnknownKey is wrapped by the error for a key the config file must not have.
var ErrUnknownKey = errors.New("unknown key")

// MaxConfigSize bounds the config file: a real one is a few KiB, even with hundreds of
// connectors and cutovers.
const MaxConfigSize = 16 << 20

// ReadFile reads the config file at path: a regular file (or a symlink to one, as a
// Kubernetes ConfigMap mounts it) of at most MaxConfigSize. A FIFO, device or directory in its
// place is refused at once (rewrite.ReadFile), never waited on or read without end.
func ReadFile(path string) ([]byte, error) { return rewrite.ReadFile(path, MaxConfigSize) }

// LoadConfig reads, decodes and validates the config file at path, including the policy
// (policy.New). The error joins every problem found (each a *ConfigError naming file:line).
// See ParseConfig for what is returned with an error.
func LoadConfig(path string) (*Config, error) {
	doc, err := ReadFile(path)
	if err != nil {
		return nil, &ConfigError{File: path, Err: fmt.Errorf("reading config: %w", err)}
	}
	return ParseConfig(path, doc)
}

// ParseConfig decodes and validates a config document; name is the file it came from (for
// error messages and for resolving a relative rules_dir). When the document decodes but does
// not validate, the config comes back with the error, so that `check` can go on to check the
// rules; its Policy may be nil, and it must never be served. A document that does not decode
// returns a nil config.
func ParseConfig(name string, doc []byte) (*Config, error) {
	cfg := &Config{
		Listen:               DefaultListen,
		SocketMode:           DefaultSocketMode,
		RulesDir:             DefaultRulesDir,
		MetricsListen:        DefaultMetricsListen,
		LogFormat:            DefaultLogFormat,
		LogLevel:             DefaultLogLevel,
		InboundHeaderRewrite: InboundUnsigned,
		path:                 name,
	}
	dec := toml.NewDecoder(bytes.NewReader(doc)).DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return nil, decodeErrors(name, doc, err)
	}
	if cfg.RecipientDelimiter == nil {
		d := DefaultRecipientDelimiter
		cfg.RecipientDelimiter = &d
	}
	if cfg.RewriteOutboundToCc == nil {
		t := true
		cfg.RewriteOutboundToCc = &t
	}
	if cfg.RulesDir != "" && !filepath.IsAbs(cfg.RulesDir) {
		cfg.RulesDir = filepath.Join(filepath.Dir(name), cfg.RulesDir)
	}
	cfg.lines = keyLines(doc)
	if err := cfg.validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// Path is the file the config was read from.
func (c *Config) Path() string { return c.path }

// Policy is the policy built from the config's policy settings.
func (c *Config) Policy() *policy.Policy { return c.policy }

// Delimiter is the recipient delimiter in effect.
func (c *Config) Delimiter() string {
	if c.RecipientDelimiter == nil {
		return DefaultRecipientDelimiter
	}
	return *c.RecipientDelimiter
}

// GuardShare is the reload guard's share in effect (see ReloadGuardShare).
func (c *Config) GuardShare() float64 {
	if c.ReloadGuardShare == nil {
		return DefaultReloadGuardShare
	}
	return *c.ReloadGuardShare
}

// CalendarOut reports whether calendar data of outbound mail is rewritten.
func (c *Config) CalendarOut() bool { return c.CalendarOutbound == nil || *c.CalendarOutbound }

// CalendarIn is calendar_inbound in effect: "unsigned", "always" or "never".
func (c *Config) CalendarIn() string {
	if c.CalendarInbound == "" {
		return DefaultCalendarInbound
	}
	return c.CalendarInbound
}

// CalendarLimit is calendar_max_bytes in effect.
func (c *Config) CalendarLimit() int {
	if c.CalendarMaxBytes <= 0 {
		return DefaultCalendarMaxBytes
	}
	return c.CalendarMaxBytes
}

// OutboundToCc reports whether outbound To and Cc are rewritten.
func (c *Config) OutboundToCc() bool { return c.RewriteOutboundToCc == nil || *c.RewriteOutboundToCc }

// decodeErrors turns go-toml's errors into *ConfigError values with file:line.
func decodeErrors(name string, doc []byte, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		// As for rule files, the first problems are listed and the rest counted: a file of
		// thousands of unknown keys is not a config file an admin meant.
		n := min(len(strict.Errors), rewrite.MaxFileProblems)
		errs := make([]error, 0, n+1)
		for i := range n {
			e := &strict.Errors[i]
			line, _ := e.Position()
			errs = append(errs, &ConfigError{File: name, Line: line,
				Err: fmt.Errorf("%w %q", ErrUnknownKey, strings.Join(e.Key(), "."))})
		}
		if more := len(strict.Errors) - n; more > 0 {
			errs = append(errs, &ConfigError{File: name, Err: fmt.Errorf("%w: and %d more unknown keys in this file", ErrUnknownKey, more)})
		}
		return errors.Join(errs...)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, _ := de.Position()
		msg := decodeMessage(de)
		if lines := strings.Split(string(doc), "\n"); line > 0 && line <= len(lines) &&
			strings.HasPrefix(strings.TrimSpace(lines[line-1]), "socket_mode") {
			msg += ` (write the mode as a string: socket_mode = "0660")`
		}
		return &ConfigError{File: name, Line: line, Err: errors.New(msg)}
	}
	return &ConfigError{File: name, Err: err}
}

var typeMismatch = regexp.MustCompile(`^toml: cannot decode TOML (\w+) into struct field \S+ of type (\S+)$`)

// decodeMessage words a go-toml decode error for the admin.
func decodeMessage(de *toml.DecodeError) string {
	key := strings.Join(de.Key(), ".")
	msg := de.Error()
	if m := typeMismatch.FindStringSubmatch(msg); m != nil {
		want := map[string]string{
			"string": "a string in quotes", "bool": "true or false", "[]string": "a list of strings",
			"*string": "a string in quotes", "*bool": "true or false", "time.Time": "a date-time",
		}[m[2]]
		if want == "" {
			want = m[2]
		}
		msg = fmt.Sprintf("key %q must be %s, not a TOML %s", key, want, m[1])
	} else {
		msg = strings.TrimPrefix(msg, "toml: ")
		if key != "" {
			msg = fmt.Sprintf("key %q: %s", key, msg)
		}
	}
	return msg
}

// KeepRestartSettings copies into c the settings of the running config that cannot change
// without a restart, logging each that the file changes, and rebuilds the policy if the
// recipient delimiter it was built with changed back.
func (c *Config) KeepRestartSettings(running *Config, log *slog.Logger) error {
	keep := func(key string, dst *string, was string) {
		if *dst != was {
			log.Warn("setting changed; it takes effect at the next restart", "key", key, "running", was, "file", *dst)
			*dst = was
		}
	}
	keep("listen", &c.Listen, running.Listen)
	keep("socket_mode", &c.SocketMode, running.SocketMode)
	keep("socket_group", &c.SocketGroup, running.SocketGroup)
	keep("rules_dir", &c.RulesDir, running.RulesDir)
	keep("metrics_listen", &c.MetricsListen, running.MetricsListen)
	keep("log_format", &c.LogFormat, running.LogFormat)
	if c.Limits != running.Limits || c.AllowWideSocketMode != running.AllowWideSocketMode {
		log.Warn("setting changed; it takes effect at the next restart", "key", "limits, allow_wide_socket_mode")
		c.Limits, c.AllowWideSocketMode = running.Limits, running.AllowWideSocketMode
	}
	delim := c.Delimiter()
	keep("recipient_delimiter", &delim, running.Delimiter())
	if delim == c.Delimiter() {
		return nil
	}
	c.RecipientDelimiter = &delim
	pc := c.Config
	pc.RecipientDelimiter = delim
	p, err := policy.New(pc)
	if err != nil {
		return &ConfigError{File: c.path, Err: err}
	}
	c.policy = p
	return nil
}
