package main

import (
	"fmt"
	"strings"
)

// configuration is one of the five set-ups compared.
type configuration struct {
	Key  string // "a" to "e"
	Name string
	// Canonical: sender_canonical_maps + recipient_canonical_maps (lmdb) with the rule set.
	Canonical bool
	// Milter: a milter in smtpd_milters, edgerewrite unless Floor; Rules: with the rule set
	// (else with none).
	Milter, Rules bool
	// Floor: the milter is the pass-through milter (./passthrough), not edgerewrite.
	Floor bool
}

var allConfigurations = []configuration{
	{Key: "a", Name: "bare Postfix"},
	{Key: "b", Name: "canonical maps (lmdb)", Canonical: true},
	{Key: "c", Name: "edgerewrite, rules", Milter: true, Rules: true},
	{Key: "d", Name: "edgerewrite, no rules", Milter: true},
	{Key: "e", Name: "pass-through milter (floor)", Milter: true, Floor: true},
}

// variant is the message this configuration is sent (see messageVariant).
func (c configuration) variant() messageVariant {
	if c.Canonical {
		return toCcExternal
	}
	return toCcInternal
}

// parseConfigurations parses the -configs flag: keys separated by commas ("a,b,c,d,e").
func parseConfigurations(s string) ([]configuration, error) {
	var out []configuration
	seen := map[string]bool{}
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(k)
		found := false
		for _, c := range allConfigurations {
			if c.Key == k {
				found = true
				if !seen[k] {
					out = append(out, c)
				}
				seen[k] = true
			}
		}
		if !found {
			return nil, fmt.Errorf("-configs %q: unknown configuration %q (want a comma-separated subset of a,b,c,d,e)", s, k)
		}
	}
	return out, nil
}

// mode is how smtp-source uses connections.
type mode struct {
	Key  string
	Name string
	// Reuse: smtp-source -d, every session sends all its messages over one connection.
	Reuse bool
}

var allModes = []mode{
	{Key: "conn", Name: "one connection per message"},
	{Key: "reuse", Name: "connection reuse (smtp-source -d)", Reuse: true},
}
