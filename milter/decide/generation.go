package decide

import (
	"time"

	"github.com/edgerewrite/edgerewrite/milter/config"
	"github.com/edgerewrite/edgerewrite/policy"
	"github.com/edgerewrite/edgerewrite/rewrite"
)

// Generation is one consistent whole that messages are decided by: a config, the policy
// compiled from it and the rules snapshot loaded under it. The daemon builds and validates all
// three together and publishes them with one atomic swap, so a message never sees a config
// without its rules or the reverse; each message takes the generation in service at its first
// event (MAIL FROM) and finishes on it. A Generation is immutable.
type Generation struct {
	// Seq numbers the generations of one daemon run, from 1 (the log names it).
	Seq uint64
	// Config is the config file the generation was built from.
	Config *config.Config
	// Policy is Config's compiled policy; never nil.
	Policy *policy.Policy
	// Rules is the rules snapshot; nil rewrites nothing.
	Rules *rewrite.Snapshot
	// Options are Config's settings for decisions.
	Options Options
}

// NewGeneration puts a validated config and a rules snapshot together.
func NewGeneration(seq uint64, cfg *config.Config, rules *rewrite.Snapshot) *Generation {
	return &Generation{Seq: seq, Config: cfg, Policy: cfg.Policy(), Rules: rules,
		Options: Options{RewriteOutboundToCc: cfg.OutboundToCc(), InboundHeaderRewrite: cfg.InboundHeaderRewrite,
			CalendarOutbound: cfg.CalendarOut(), CalendarInbound: cfg.CalendarIn(), CalendarMaxBytes: cfg.CalendarLimit()}}
}

// Options are the settings a decision depends on besides rules and policy.
type Options struct {
	// RewriteOutboundToCc also rewrites internal addresses in To and Cc of outbound mail, so
	// that reply-all goes to the shared domain. Off is strict Exchange Edge behaviour.
	RewriteOutboundToCc bool
	// InboundHeaderRewrite is when inbound To and Cc are rewritten: config.InboundUnsigned
	// (also for ""), config.InboundAlways or config.InboundNever.
	InboundHeaderRewrite string
	// CalendarOutbound rewrites calendar data of outbound mail; CalendarInbound is when
	// inbound calendar data is ("unsigned", "always", "never"; "" is never).
	CalendarOutbound bool
	CalendarInbound  string
	// CalendarMaxBytes bounds the body read for calendar data (0: rewrite's default).
	CalendarMaxBytes int
}

// WantsBodies reports whether messages of this generation may have their body read at all:
// when not, the milter asks the MTA for no body (SMFIP_NOBODY) and pays nothing for it.
func (g *Generation) WantsBodies() bool {
	return g.Options.CalendarOutbound || g.Options.CalendarInbound == "unsigned" || g.Options.CalendarInbound == "always"
}

// lookup is the rules as a rewrite.Lookup: nothing matches when there is no snapshot.
func (g *Generation) lookup() rewrite.Lookup {
	if g.Rules == nil {
		return noRules{}
	}
	return g.Rules
}

// Begin starts a message from the SMTP client conn with envelope sender from at time now: the
// connection is classified here, once, and every later step of the message uses that class.
func (g *Generation) Begin(conn policy.Conn, from string, now time.Time) *Message {
	return &Message{gen: g, start: now, class: g.Policy.Classify(conn),
		in: Input{Conn: conn, From: from}}
}

// noRules is the Lookup used when no snapshot is in service: nothing matches.
type noRules struct{}

func (noRules) Rewrite(addr string, _ rewrite.Direction) (string, *rewrite.Rule, bool) {
	return addr, nil, false
}

// LoadGeneration reads the config file at path and the rules it names, as the daemon's first
// load does, and returns them as one generation. `edgerewrite test` decides on it. The error
// joins every problem (config.Problems splits them).
func LoadGeneration(path string) (*Generation, error) {
	cfg, err := config.LoadConfig(path)
	if err != nil {
		return nil, err
	}
	table := rewrite.NewTable(rewrite.Options{RecipientDelimiter: cfg.Delimiter()})
	if _, err := table.Load(cfg.RulesDir); err != nil {
		return nil, err
	}
	return NewGeneration(1, cfg, table.Snapshot()), nil
}
