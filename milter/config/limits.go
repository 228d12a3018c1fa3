package config

import (
	"errors"
	"fmt"
	"time"
)

// Defaults of the [limits] settings; packaging/edgerewrite.toml documents each. They are far
// above what Postfix sends for real mail (smtpd_recipient_limit is 1000, about 25 macros of a
// few dozen bytes, a few KiB of headers) and keep a misbehaving or hostile milter client from
// holding more than a few MiB per connection. max_header_bytes takes a header of the largest
// size a milter packet carries (1 MiB) and the rest of the header, so that such a header is
// left as it is (rewrite.ErrFieldTooLong), not its message refused.
const (
	DefaultMaxConnections = 500
	DefaultMaxMacros      = 256
	DefaultMaxMacroBytes  = 64 << 10
	DefaultMaxHeaderBytes = 2 << 20
	DefaultMaxRecipients  = 5000
	// DefaultReadTimeout is far longer than Postfix's own milter timeouts
	// (milter_command_timeout 30s, milter_content_timeout 300s) and smtpd_timeout (300s), so
	// that Postfix is never cut off: between SMFIC_DATA and the first SMFIC_HEADER the whole
	// message travels from the SMTP client to Postfix's cleanup (which sends the content events
	// once the message is in), and 10 MB at 10 KB/s take 17 minutes. A connection nobody talks
	// on is still closed in the end.
	DefaultReadTimeout = time.Hour
)

// ErrBadLimit is wrapped by the error for a [limits] setting out of range.
var ErrBadLimit = errors.New("bad limit")

// Limits bound what one milter client (the MTA, or anything that can reach the socket) can make
// the daemon hold. A message over a limit gets a temporary failure, with a log line; a
// connection over max_connections gets one too, for its SMTP session. 0 (or not set) means
// the default.
type Limits struct {
	// MaxConnections is the most milter connections served at once (Postfix opens one per SMTP
	// session of each smtpd process).
	MaxConnections int `toml:"max_connections"`
	// MaxMacros is the most distinct macros kept for one connection and its message.
	MaxMacros int `toml:"max_macros"`
	// MaxMacroBytes bounds the names and values of those macros, in bytes.
	MaxMacroBytes int `toml:"max_macro_bytes"`
	// MaxHeaderBytes bounds the header fields (names and values) of one message, in bytes.
	MaxHeaderBytes int `toml:"max_header_bytes"`
	// MaxRecipients is the most envelope recipients of one message.
	MaxRecipients int `toml:"max_recipients"`
	// ReadTimeout is how long the daemon waits for the MTA's next command, within a message
	// and between messages, as a Go duration: "10m", "300s".
	ReadTimeout string `toml:"read_timeout"`
}

// WithDefaults returns l with every setting not set given its default. ReadTimeout must be
// valid (validate checks it); an invalid one is the default too.
func (l Limits) WithDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxConnections, DefaultMaxConnections)
	def(&l.MaxMacros, DefaultMaxMacros)
	def(&l.MaxMacroBytes, DefaultMaxMacroBytes)
	def(&l.MaxHeaderBytes, DefaultMaxHeaderBytes)
	def(&l.MaxRecipients, DefaultMaxRecipients)
	if _, err := time.ParseDuration(l.ReadTimeout); err != nil {
		l.ReadTimeout = DefaultReadTimeout.String()
	}
	return l
}

// Timeout is ReadTimeout as a duration (the default when not set or invalid).
func (l Limits) Timeout() time.Duration {
	d, err := time.ParseDuration(l.ReadTimeout)
	if err != nil || d <= 0 {
		return DefaultReadTimeout
	}
	return d
}

// validate returns a problem per setting out of range, with its key ("limits.max_macros").
func (l Limits) validate(add func(key string, err error)) {
	for _, s := range []struct {
		key string
		v   int
	}{
		{"max_connections", l.MaxConnections}, {"max_macros", l.MaxMacros}, {"max_macro_bytes", l.MaxMacroBytes},
		{"max_header_bytes", l.MaxHeaderBytes}, {"max_recipients", l.MaxRecipients},
	} {
		if s.v < 0 {
			add("limits."+s.key, fmt.Errorf("%w: limits.%s = %d: want a positive number (0 or not set: the default)", ErrBadLimit, s.key, s.v))
		}
	}
	if l.ReadTimeout != "" {
		if d, err := time.ParseDuration(l.ReadTimeout); err != nil || d <= 0 {
			add("limits.read_timeout", fmt.Errorf("%w: limits.read_timeout %q: want a duration such as \"10m\" or \"300s\"", ErrBadLimit, l.ReadTimeout))
		}
	}
}
