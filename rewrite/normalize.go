package rewrite

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// The lookup form of an address is what rules are indexed by and what addresses are looked up
// by. lookupForm is the ONE function that computes it, for both; NormalizeDomain and
// normalizeLocal are its two halves.
//
// Invariant: if two addresses a and b are the same mailbox up to
//   - the letter case of the domain, and of the local part (ASCII, and Unicode as unicode.ToLower
//     maps it),
//   - A-label versus U-label of the domain (xn--bcher-kva.example = bücher.example),
//   - a trailing dot of the domain,
//   - quoting of the local part ("john"@x = john@x, RFC 5321 §4.1.2), or Unicode normalisation
//     form of the local part (NFC),
//
// then lookupForm(a) == lookupForm(b), and so AddressKey(a) == AddressKey(b). lookupForm is
// idempotent: the lookup form of a lookup form is itself. FuzzNormalize and FuzzAddressKey check
// both.

// maxDomainLen is the longest domain name in text form (RFC 1035 §2.3.4, 255 octets on the wire).
const maxDomainLen = 253

// maxLabelLen is the longest DNS label (RFC 1035 §2.3.4).
const maxLabelLen = 63

var errEmptyDomain = errors.New("empty domain")

// NormalizeDomain returns the lookup form of domain d: lower-case, A-labels (IDNA 2008 per UTS
// #46, golang.org/x/net/idna's Lookup profile), no trailing dot. An error says why d is not a
// domain name. Plain lower-case ASCII names come back without allocating.
func NormalizeDomain(d string) (string, error) {
	d = strings.TrimSuffix(d, ".")
	if d == "" {
		return "", errEmptyDomain
	}
	switch asciiDomainClass(d) { // lengths checked there
	case ldhLower:
		return d, nil
	case ldhUpper:
		return strings.ToLower(d), nil
	}
	if !utf8.ValidString(d) {
		return "", errors.New("domain is not UTF-8") // the profile would map the bytes to U+FFFD
	}
	a, err := idna.Lookup.ToASCII(d)
	if err != nil {
		return "", err
	}
	a = strings.TrimSuffix(a, ".") // a trailing U+3002 or similar maps to "."
	if a == "" {
		return "", errEmptyDomain
	}
	if asciiDomainClass(a) == other && !allLDH(a) {
		return "", fmt.Errorf("not a host name after IDNA mapping: %q", a)
	}
	return a, checkLabels(a)
}

type domainClass uint8

const (
	other    domainClass = iota // needs the IDNA profile
	ldhLower                    // letters, digits, hyphens and dots only, all lower-case
	ldhUpper                    // the same with some upper-case ASCII letters
)

// asciiDomainClass tells whether d can skip the IDNA profile: only letters, digits, hyphen and
// dot, no label that IDNA would treat specially ("xn--" A-labels are verified by the profile,
// and "ab--" labels are rejected by it: UTS #46 CheckHyphens), no hyphen at a label's start or
// end, and the DNS lengths (checkLabels) kept. For such names the profile's answer is the
// lower-cased name, so we compute that directly.
func asciiDomainClass(d string) domainClass {
	if len(d) > maxDomainLen {
		return other
	}
	class := ldhLower
	start := 0
	for i := 0; i <= len(d); i++ {
		if i == len(d) || d[i] == '.' {
			l := d[start:i]
			if l == "" || len(l) > maxLabelLen || l[0] == '-' || l[len(l)-1] == '-' || (len(l) >= 4 && l[2] == '-' && l[3] == '-') {
				return other
			}
			start = i + 1
			continue
		}
		c := d[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
		case c >= 'A' && c <= 'Z':
			class = ldhUpper
		default:
			return other
		}
	}
	return class
}

func allLDH(d string) bool {
	for i := 0; i < len(d); i++ {
		c := d[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// checkLabels enforces the DNS lengths (RFC 1035 §2.3.4) and non-empty labels, which the IDNA
// Lookup profile leaves alone.
func checkLabels(d string) error {
	if len(d) > maxDomainLen {
		return fmt.Errorf("domain longer than %d characters", maxDomainLen)
	}
	for l := range strings.SplitSeq(d, ".") {
		if l == "" {
			return errors.New("empty label in domain")
		}
		if len(l) > maxLabelLen {
			return fmt.Errorf("label longer than %d characters: %q", maxLabelLen, l)
		}
	}
	return nil
}

// normalizeLocal returns the lookup form of a local part: unquoted when it is a quoted-string
// (RFC 5321 §4.1.2), lower-cased, NFC, and quoted again only when the result is not a dot-atom
// (RFC 5322 §3.4.1, with RFC 6532's UTF-8). Lower-case ASCII dot-atoms come back without
// allocating. It never fails: lookups take any bytes, and rules are checked by validLocal.
func NormalizeLocal(l string) string {
	plain := true
	for i := 0; i < len(l); i++ {
		c := l[i]
		if c >= 'A' && c <= 'Z' || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			plain = false
			break
		}
	}
	if plain && isDotAtom(l) {
		return l
	}
	s := unquote(l)
	s = norm.NFC.String(strings.ToLower(norm.NFC.String(s)))
	if isDotAtom(s) {
		return s
	}
	return quote(s)
}

// unquote returns the content of a quoted-string (RFC 5322 §3.2.4) with its quoted-pairs
// resolved, or l itself when l is not one.
func unquote(l string) string {
	if len(l) < 2 || l[0] != '"' || l[len(l)-1] != '"' {
		return l
	}
	in := l[1 : len(l)-1]
	if !strings.ContainsRune(in, '\\') {
		return in
	}
	var b strings.Builder
	for i := 0; i < len(in); i++ {
		if in[i] == '\\' && i+1 < len(in) {
			i++
		}
		b.WriteByte(in[i])
	}
	return b.String()
}

// quote writes s as a quoted-string, escaping DQUOTE and backslash.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// isDotAtom reports whether s is a dot-atom (RFC 5322 §3.4.1): atext runs separated by single
// dots, with UTF-8 allowed in atext (RFC 6532 §3.2).
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			continue
		}
		if !isAtextByte(c) && c != '.' {
			return false
		}
	}
	return utf8.ValidString(s)
}

// isAtextByte reports whether ASCII c is atext (RFC 5322 §3.2.3).
func isAtextByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// SplitAddress splits addr at its last '@' (RFC 5321 §4.1.2: a quoted local part may hold
// another). ok is false when there is no '@' or either side is empty. Nothing is normalised.
func SplitAddress(addr string) (local, domain string, ok bool) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", "", false
	}
	return addr[:at], addr[at+1:], true
}

// lookupForm returns the lookup form of an address: normalizeLocal(local), NormalizeDomain(domain).
// It is used to index rules and to look addresses up (see the invariant above).
func lookupForm(addr string) (local, domain string, err error) {
	l, d, ok := SplitAddress(addr)
	if !ok {
		return "", "", fmt.Errorf("not local@domain: %q", addr)
	}
	nd, err := NormalizeDomain(d)
	if err != nil {
		return "", "", err
	}
	return NormalizeLocal(l), nd, nil
}

// SplitExtension splits a local part at its first recipient delimiter, as Postfix's
// recipient_delimiter does: each byte of delims is a delimiter; non-ASCII bytes are ignored so a
// UTF-8 character is never cut. Microsoft 365's SRS local parts ("john+SRS=44d3a=2Q=...") are an
// extension of this kind under the delimiter "+". A quoted local part that needs no quotes
// (`"john+tag"`) is split like the same local part unquoted, and base comes back unquoted. base
// is empty when there is no extension, when the delimiter is the first byte, or when the local
// part is a quoted-string that needs its quotes. The bytes of base and ext are kept as written.
func SplitExtension(local, delims string) (base, ext string) {
	if delims == "" || local == "" {
		return "", ""
	}
	if local[0] == '"' {
		if local = unquote(local); local == "" || local[0] == '"' || !isDotAtom(local) {
			return "", ""
		}
	}
	for i := 1; i < len(local); i++ {
		c := local[i]
		if c < utf8.RuneSelf && strings.IndexByte(delims, c) >= 0 {
			return local[:i], local[i:]
		}
	}
	return "", ""
}

// withExtension puts extension ext back into the address local@domain (as the rule wrote it),
// inside the quotes when the local part is a quoted-string.
func withExtension(local, domain, ext string) string {
	if ext == "" {
		return local + "@" + domain
	}
	if len(local) >= 2 && local[0] == '"' && local[len(local)-1] == '"' {
		return local[:len(local)-1] + ext + "\"@" + domain
	}
	return local + ext + "@" + domain
}
