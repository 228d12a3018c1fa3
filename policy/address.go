package policy

import (
	"errors"
	"strings"
)

// maxReplyValue bounds a message-supplied value quoted in an SMTP reply text.
const maxReplyValue = 100

// addrSpec returns the addr-spec of a, which is an envelope address or a From header address:
// surrounding space and angle brackets are dropped, and from a whole mailbox ("John <j@x>") the
// part in the last angle brackets is taken.
func addrSpec(a string) string {
	a = strings.TrimSpace(a)
	if i := strings.LastIndexByte(a, '<'); i >= 0 {
		rest := a[i+1:]
		if j := strings.IndexByte(rest, '>'); j >= 0 {
			a = rest[:j]
		} else {
			a = rest
		}
	}
	return strings.TrimSpace(a)
}

// splitAddr splits an address at its last '@' (RFC 5321 §4.1.2: the domain follows the last
// '@'; a quoted local part may hold others). ok is false when there is no '@'.
func splitAddr(a string) (local, domain string, ok bool) {
	a = addrSpec(a)
	i := strings.LastIndexByte(a, '@')
	if i < 0 {
		return a, "", false
	}
	return a[:i], a[i+1:], true
}

// stripExt removes an address extension: the local part is cut at the first byte of delims
// (Postfix's recipient_delimiter), unless that is its first byte. delims "" keeps it whole.
func stripExt(local, delims string) string {
	if delims == "" {
		return local
	}
	if i := strings.IndexAny(local, delims); i > 0 {
		return local[:i]
	}
	return local
}

// addrKey is the comparison form of an address: the local part lower-cased, the domain
// normalised. Local parts compare case-insensitively, as Exchange treats them.
func addrKey(local, domain string) string {
	return strings.ToLower(local) + "@" + msgDomain(domain)
}

// parseConfigAddr parses an address written in the configuration and returns its addrKey.
func parseConfigAddr(s string) (string, error) {
	s = strings.TrimSpace(s)
	local, dom, ok := splitAddr(s)
	if !ok || s != addrSpec(s) {
		return "", errors.New(`not an address such as "john@contoso.com"`)
	}
	if local == "" {
		return "", errors.New("empty local part")
	}
	for _, r := range local {
		if r <= ' ' || r == 0x7f || r == '<' || r == '>' {
			return "", errors.New("local part holds a space, control character or angle bracket")
		}
	}
	d, err := normDomain(dom)
	if err != nil {
		return "", err
	}
	return strings.ToLower(local) + "@" + d, nil
}

// addrSet holds configured addresses and answers for message addresses, trying the whole
// address first and then the address without its extension, as Postfix's lookups do.
type addrSet struct {
	addrs  map[string]struct{}
	delims string
}

// has reports whether the message address a (any case, U- or A-label domain) is in the set.
func (s addrSet) has(a string) bool {
	local, dom, ok := splitAddr(a)
	if !ok {
		return false
	}
	if _, ok := s.addrs[addrKey(local, dom)]; ok {
		return true
	}
	if base := stripExt(local, s.delims); base != local {
		_, ok := s.addrs[addrKey(base, dom)]
		return ok
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
