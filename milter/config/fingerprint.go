package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// PolicyFingerprint identifies what the config decides with: the policy settings and the
// settings that change a decision (recipient delimiter, To/Cc rewriting, reload guard), as 16
// hex digits. Comments, key order, layout and the daemon-only settings (listen, socket, log,
// metrics) do not change it, so two gateways of a fleet that decide alike show the same value
// (in check, /healthz and edgerewrite_generation_info) whatever their files look like.
func (c *Config) PolicyFingerprint() string {
	b, err := json.Marshal(struct {
		Policy       any
		Delimiter    string
		OutboundToCc bool
		GuardShare   float64
		Calendar     [3]any
	}{c.Config, c.Delimiter(), c.OutboundToCc(), c.GuardShare(), [3]any{c.CalendarOut(), c.CalendarIn(), c.CalendarLimit()}})
	if err != nil {
		// Only plain values are marshalled; an error is a programming error.
		panic("config: fingerprint: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
