package policy

import (
	"fmt"
	"strings"

	"github.com/edgerewrite/edgerewrite/rewrite"
)

// Addresses and domains are compared in package rewrite's forms (rewrite.AddressKey,
// rewrite.NormalizeDomain), so that what policy matches (a cutover, pilot or keep entry, a
// tenant's or the organisation's domain) is exactly what a rewrite rule matches.

// maxReplyValue bounds a message-supplied value quoted in an SMTP reply text.
const maxReplyValue = 100

// envAddr returns an envelope address without surrounding space and angle brackets.
func envAddr(a string) string {
	a = strings.TrimSpace(a)
	if len(a) >= 2 && a[0] == '<' && a[len(a)-1] == '>' {
		a = a[1 : len(a)-1]
	}
	return a
}

// msgDomain is the domain of an address taken from a message.
type msgDomain struct {
	// norm is the comparison form (rewrite.NormalizeDomain), "" when the domain is not a domain
	// name (a literal "[192.0.2.1]", a typo, garbage): such a domain is never the organisation's.
	norm string
	// shown is what reply texts and reasons name: norm, or the domain as written, lower-cased.
	shown string
	// ok is false when the address has no '@'.
	ok bool
}

// domainOf returns the domain of a message address: what follows its last '@' (RFC 5321
// §4.1.2; a quoted local part may hold others).
func domainOf(addr string) msgDomain {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return msgDomain{}
	}
	d := addr[i+1:]
	if n, err := rewrite.NormalizeDomain(d); err == nil {
		return msgDomain{norm: n, shown: n, ok: true}
	}
	return msgDomain{shown: strings.ToLower(strings.TrimSuffix(d, ".")), ok: true}
}

// parseConfigAddr parses an address written in the configuration and returns its key.
func parseConfigAddr(s string) (string, error) {
	return rewrite.ParseAddress(strings.TrimSpace(s))
}

// configDomain parses a domain written in the configuration and returns its comparison form.
func configDomain(s string) (string, error) {
	d, err := rewrite.NormalizeDomain(strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("not a valid domain name: %w", err)
	}
	return d, nil
}

// addrSet holds configured addresses (keys) and answers for message addresses, trying the
// whole address first and then the address without its extension, as Postfix's lookups do.
type addrSet struct {
	addrs  map[string]struct{}
	delims string
}

// has reports whether the message address a (any spelling of the same mailbox) is in the set.
func (s addrSet) has(a string) bool {
	if len(s.addrs) == 0 {
		return false
	}
	for _, k := range rewrite.AddressKeys(envAddr(a), s.delims) {
		if _, ok := s.addrs[k]; ok {
			return true
		}
	}
	return false
}

// replySafe makes a message-supplied value safe to quote in an SMTP reply text: printable ASCII
// only (RFC 5321 §4.2), '%' replaced (milter reply texts are printf-like in some MTAs), at most
// maxReplyValue bytes.
func replySafe(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < maxReplyValue; i++ {
		c := s[i]
		if c < ' ' || c > '~' || c == '%' {
			c = '?'
		}
		b.WriteByte(c)
	}
	if len(s) > maxReplyValue {
		b.WriteString("...")
	}
	return b.String()
}
