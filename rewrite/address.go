package rewrite

import "fmt"

// The exported address model. Package policy compares every address and domain it judges
// (cutover, pilot, keep, tenant and organisation domains, configured addresses) through these
// functions, so that an address policy matches is exactly an address a rule matches.

// AddressKey returns the comparison key of an address taken from a message (local@domain, no
// angle brackets): NormalizeLocal(local) + "@" + NormalizeDomain(domain). Two spellings of one
// mailbox (letter case, U-label or A-label, a trailing dot, quotes that are not needed, NFC or
// NFD) have the same key; see the invariant in normalize.go. The local part may hold any bytes.
// An error says why addr is not local@domain with a domain name ("postmaster", "x@[192.0.2.1]").
func AddressKey(addr string) (string, error) {
	l, d, err := lookupForm(addr)
	if err != nil {
		return "", err
	}
	return l + "@" + d, nil
}

// ParseAddress checks an address written by an administrator (in a configuration or a rule
// file): a local part that is a dot-atom or a quoted-string of at most 64 octets, '@', a domain
// name, nothing around it. It returns the address's key, as AddressKey computes it. Errors wrap
// ErrBadAddress and do not repeat s: the caller names the setting and quotes it.
func ParseAddress(s string) (key string, err error) {
	l, _, ok := SplitAddress(s)
	if !ok {
		return "", fmt.Errorf("%w: not local@domain, such as john@contoso.com", ErrBadAddress)
	}
	if !validLocal(l) {
		return "", fmt.Errorf("%w: malformed local part; write a dot-atom, or quote it (\"john smith\"@contoso.com)",
			ErrBadAddress)
	}
	key, err = AddressKey(s)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadAddress, err)
	}
	return key, nil
}

// extensionKey returns the key of addr without its extension (SplitExtension with delims), or
// "" when it has none.
func extensionKey(addr, delims string) string {
	l, d, ok := SplitAddress(addr)
	if !ok {
		return ""
	}
	base, _ := SplitExtension(l, delims)
	if base == "" {
		return ""
	}
	k, err := AddressKey(base + "@" + d)
	if err != nil {
		return ""
	}
	return k
}

// AddressKeys returns the keys an address is looked up by, most specific first, as Postfix's
// lookups try them: the whole address, then (with a recipient delimiter in delims and an
// extension in the local part) the address without its extension. It returns nil when addr has
// no key (AddressKey fails).
func AddressKeys(addr, delims string) []string {
	k, err := AddressKey(addr)
	if err != nil {
		return nil
	}
	if b := extensionKey(addr, delims); b != "" && b != k {
		return []string{k, b}
	}
	return []string{k}
}
