// Package daemon is `edgerewrite serve`'s lifecycle: it builds each generation of config and
// rules (Live), watches files and SIGHUP for reloads, serves the milter socket (package milter)
// and the metrics and health endpoint, and drains on shutdown.
package daemon
