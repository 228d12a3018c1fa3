// Package milter is edgerewrite's daemon side: the go-milter server and the wire layer beneath
// it, per-session state, turning policy verdicts and rewrite plans into milter actions, rule
// reloading, metrics and logging.
package milter
