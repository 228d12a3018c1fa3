// Package decide is the per-message decision: it composes policy (direction, attribution,
// relay, cutover) and rewrite (the rule table) over one Generation — config, policy and rules
// that were validated together — and turns the result into milter actions as plain values.
// The daemon's session and `edgerewrite test` make the same calls, so the CLI shows exactly
// what the daemon does. It does no I/O and knows nothing of the milter wire protocol.
package decide
