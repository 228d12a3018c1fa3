// Package policy decides, per message, what an Exchange Edge server's connectors and transport
// rules decided: which direction a message travels, which tenant sent it and whether it may,
// relay protection, authoritative shared domains, cutover defer and hold, observe mode and pilot
// scope. Decisions are pure functions over plain values; the package knows nothing of the milter
// protocol.
package policy
