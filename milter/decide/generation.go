package decide

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/edgerewrite/edgerewrite/milter/config"
	"github.com/edgerewrite/edgerewrite/policy"
	"github.com/edgerewrite/edgerewrite/rewrite"
)

// Generation is one consistent whole that messages are decided by: a config, the policy
// compiled from it, the cutover list files and the rules snapshot of its rules directory. The daemon builds and validates all
// three together and publishes them with one atomic swap, so a message never sees a config
// without its rules or the reverse; each message takes the generation in service at its first
// event (MAIL FROM) and finishes on it. A Generation is immutable.
type Generation struct {
	// Seq numbers the generations of one daemon run, from 1 (the log names it).
	Seq uint64
	// Config is the config file the generation was built from.
	Config *config.Config
	// Policy is Config's compiled policy with the entries of Waves; never nil.
	Policy *policy.Policy
	// Waves are the cutover list files of the rules directory; nil when there are none.
	Waves *policy.Waves
	// Rules is the rules snapshot; nil rewrites nothing.
	Rules *rewrite.Snapshot
	// Options are Config's settings for decisions.
	Options Options
}

// NewGeneration puts a validated config, its policy with the cutover list files (see
// WavePolicy) and a rules snapshot together.
func NewGeneration(seq uint64, cfg *config.Config, pol *policy.Policy, waves *policy.Waves, rules *rewrite.Snapshot) *Generation {
	return &Generation{Seq: seq, Config: cfg, Policy: pol, Waves: waves, Rules: rules,
		Options: Options{RewriteOutboundToCc: cfg.OutboundToCc(), InboundHeaderRewrite: cfg.InboundHeaderRewrite,
			CalendarOutbound: cfg.CalendarOut(), CalendarInbound: cfg.CalendarIn(), CalendarMaxBytes: cfg.CalendarLimit()}}
}

// PolicyFingerprint identifies what the generation decides with besides its rules, as 16 hex
// digits: the config's policy fingerprint (config.Config.PolicyFingerprint), combined with the
// entries of the cutover list files when there are any (policy.Waves.Fingerprint), so that a
// fleet's gateways serving different waves show different values.
func (g *Generation) PolicyFingerprint() string {
	fp := g.Config.PolicyFingerprint()
	if w := g.Waves.Fingerprint(); w != "" {
		sum := sha256.Sum256([]byte(fp + "\n" + w))
		fp = hex.EncodeToString(sum[:8])
	}
	return fp
}

// WavePolicy is the policy of a generation of cfg with the cutover list files waves. When
// neither changed since the generation cur (nil for none), cur's policy is reused rather than
// built again.
func WavePolicy(cfg *config.Config, waves *policy.Waves, cur *Generation) (*policy.Policy, error) {
	if cur != nil && cur.Config == cfg && cur.Waves.Same(waves) {
		return cur.Policy, nil
	}
	return cfg.Policy().WithWaves(waves)
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

// LoadGeneration reads the config file at path and the rules and cutover list files of its
// rules directory, as the daemon's first load does, and returns them as one generation.
// `edgerewrite test` decides on it. The error joins every problem (config.Problems splits
// them).
func LoadGeneration(path string) (*Generation, error) {
	cfg, err := config.LoadConfig(path)
	if err != nil {
		return nil, err
	}
	table := rewrite.NewTable(rewrite.Options{RecipientDelimiter: cfg.Delimiter()})
	_, rulesErr := table.Load(cfg.RulesDir)
	var wl policy.WaveLoader
	waves, wavesErr := wl.Load(cfg.RulesDir)
	if err := errors.Join(rulesErr, wavesErr); err != nil {
		return nil, err
	}
	pol, err := WavePolicy(cfg, waves, nil)
	if err != nil {
		return nil, err
	}
	return NewGeneration(1, cfg, pol, waves, table.Snapshot()), nil
}
