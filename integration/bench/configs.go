package main

import (
	"fmt"
	"strings"
)

// configuration is one of the set-ups compared.
type configuration struct {
	Key  string // "a" to "g"
	Name string
	// Canonical: sender_canonical_maps + recipient_canonical_maps (lmdb) with the rule set.
	Canonical bool
	// Milter: a milter in smtpd_milters, edgerewrite unless Floor; Rules: with the rule set
	// (else with none).
	Milter, Rules bool
	// Floor: the milter is the pass-through milter (./passthrough), not edgerewrite.
	Floor bool
	// Calendar: the message is a meeting invitation whose calendar part edgerewrite rewrites.
	Calendar bool
	// CalendarOff: edgerewrite with calendar_outbound = false, so it negotiates no body at all
	// (SMFIP_NOBODY), as before it read calendar data.
	CalendarOff bool
	// ConnOnly: measured only with one connection per message, to keep the whole run short;
	// what it compares does not depend on the connection mode.
	ConnOnly bool
}

var allConfigurations = []configuration{
	{Key: "a", Name: "bare Postfix"},
	{Key: "b", Name: "canonical maps (lmdb)", Canonical: true},
	{Key: "c", Name: "edgerewrite, rules", Milter: true, Rules: true},
	{Key: "d", Name: "edgerewrite, no rules", Milter: true},
	{Key: "e", Name: "pass-through milter (floor)", Milter: true, Floor: true},
	{Key: "f", Name: "edgerewrite, rules, meeting invitation", Milter: true, Rules: true, Calendar: true, ConnOnly: true},
	{Key: "g", Name: "edgerewrite, rules, calendar off", Milter: true, Rules: true, CalendarOff: true, ConnOnly: true},
}

// runsIn reports whether the configuration is measured in mode m.
func (c configuration) runsIn(m mode) bool { return !c.ConnOnly || !m.Reuse }

// variant is the message this configuration is sent (see messageVariant).
func (c configuration) variant() messageVariant {
	switch {
	case c.Canonical:
		return toCcExternal
	case c.Calendar:
		return calendarInvite
	}
	return toCcInternal
}

// parseConfigurations parses the -configs flag: keys separated by commas ("a,b,c,d,e,f,g").
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
			return nil, fmt.Errorf("-configs %q: unknown configuration %q (want a comma-separated subset of a,b,c,d,e,f,g)", s, k)
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
