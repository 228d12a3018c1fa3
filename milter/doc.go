// Package milter is edgerewrite's milter session: the go-milter server and the wire layer
// beneath it (what go-milter v0.5.0 lacks: ESMTP arguments, SMFIR_ADDRCPT_PAR, no-reply steps,
// macros kept across messages), per-connection state, and turning a decision (package decide)
// into milter replies and modification actions. It is the only package that speaks the milter
// protocol; config loading, the per-message decision and the daemon's lifecycle live in the
// packages beside it (config, decide, daemon).
package milter
