package rewrite

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadTagList is wrapped by the error ParseTagList returns for a value that is not an RFC 6376
// §3.2 tag-value list.
var ErrBadTagList = errors.New("bad DKIM tag list")

// Tag is one tag-spec of a tag-value list: its name and its value with the surrounding folding
// white space removed (white space inside the value, folding included, is kept as written).
type Tag struct{ Name, Value string }

// ParseTagList parses a DKIM-Signature (or ARC-Message-Signature) field value as an RFC 6376
// §3.2 tag-value list:
//
//	tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
//	tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
//	tag-name  =  ALPHA *ALNUMPUNC
//	tag-value =  [ tval *( 1*(WSP / FWS) tval ) ]   ; tval = 1*VALCHAR, %x21-3A / %x3C-7E
//
// VALCHAR also takes UTF-8 (RFC 8616 §4: d= and i= of internationalised mail). Tag names are
// case-sensitive and a name given twice makes the whole list invalid (§3.2), as
// does any byte outside the grammar. The tags come back in the order written.
func ParseTagList(s string) ([]Tag, error) {
	var tags []Tag
	for i, spec := range strings.Split(s, ";") {
		if i > 0 && strings.Trim(spec, " \t\r\n") == "" && i == strings.Count(s, ";") {
			break // the optional trailing ";"
		}
		eq := strings.IndexByte(spec, '=')
		if eq < 0 {
			return nil, fmt.Errorf("%w: tag %d (%q) has no '='", ErrBadTagList, i+1, strings.TrimSpace(spec))
		}
		name := trimFWS(spec[:eq])
		if !isTagName(name) {
			return nil, fmt.Errorf("%w: %q is not a tag name", ErrBadTagList, name)
		}
		value := trimFWS(spec[eq+1:])
		if err := checkTagValue(value); err != nil {
			return nil, fmt.Errorf("%w: tag %s: %v", ErrBadTagList, name, err)
		}
		for _, t := range tags {
			if t.Name == name {
				return nil, fmt.Errorf("%w: tag %s given twice", ErrBadTagList, name)
			}
		}
		tags = append(tags, Tag{Name: name, Value: value})
	}
	return tags, nil
}

// trimFWS removes white space and line breaks around s. A line break inside the tag list that
// is not followed by white space is caught by checkTagValue or isTagName.
func trimFWS(s string) string { return strings.Trim(s, " \t\r\n") }

func isTagName(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlpha(c) && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// checkTagValue checks a trimmed tag-value: VALCHARs, separated by WSP or FWS (a line break
// must be followed by WSP, RFC 6376 §2.8).
func checkTagValue(v string) error {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == ' ' || c == '\t':
		case c == '\r' && i+1 < len(v) && v[i+1] == '\n':
		case c == '\n':
			if i+1 >= len(v) || (v[i+1] != ' ' && v[i+1] != '\t') {
				return errors.New("line break not followed by white space")
			}
		case c < 0x21 || c == 0x7f:
			return fmt.Errorf("byte %q at %d is not allowed in a tag value", c, i)
		}
	}
	return nil
}

// SignedFieldNames returns the header field names listed in the h= tag of a DKIM-Signature
// (RFC 6376 §3.5: hdr-name *( [FWS] ":" [FWS] hdr-name )), lower-cased, since field names
// compare case-insensitively (§3.4.2, §5.4). It fails on a tag list that does not parse, a
// missing h= or an empty name in it.
func SignedFieldNames(value string) ([]string, error) {
	tags, err := ParseTagList(value)
	if err != nil {
		return nil, err
	}
	for _, t := range tags {
		if t.Name != "h" {
			continue
		}
		names := strings.Split(t.Value, ":")
		for i, n := range names {
			n = strings.ToLower(strings.Trim(n, " \t\r\n"))
			if !isFieldName(n) {
				return nil, fmt.Errorf("%w: h= names an empty or broken field name in %q", ErrBadTagList, t.Value)
			}
			names[i] = n
		}
		return names, nil
	}
	return nil, fmt.Errorf("%w: no h= tag", ErrBadTagList)
}

// isFieldName reports field-name = 1*ftext, printable ASCII but ':' (RFC 5322 §3.6.8).
func isFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

// signedFields is the set of header field names (lower case) that some signature over the
// message covers; the key "" stands for every field (a signature whose h= could not be read).
type signedFields map[string]struct{}

// covers reports whether a signature covers the field name.
func (s signedFields) covers(name string) bool {
	if _, all := s[""]; all {
		return true
	}
	_, ok := s[strings.ToLower(name)]
	return ok
}

// signedFieldsOf collects the fields covered by the message's DKIM-Signature fields and ARC
// message signatures (ARC-Message-Signature has the same tag list and h=, RFC 8617 §4.1.2; a
// tenant that trusts the ARC sealer relies on it). A signature whose h= cannot be read is taken
// to cover every field: it may well be valid to a verifier more lenient than this parser, and
// leaving a To or Cc as it is costs nothing (the envelope routes), while breaking a valid
// signature makes DMARC fail at the tenant.
func signedFieldsOf(hs []Header) signedFields {
	var s signedFields
	for _, h := range hs {
		if !isSignature(h.Name) {
			continue
		}
		names, err := SignedFieldNames(h.Value)
		if s == nil {
			s = signedFields{}
		}
		if err != nil {
			names = []string{""}
		}
		for _, n := range names {
			s[n] = struct{}{}
		}
	}
	return s
}

// isSignature reports whether a field of this name signs the message: a DKIM-Signature or an
// ARC-Message-Signature.
func isSignature(name string) bool {
	return strings.EqualFold(name, "DKIM-Signature") || strings.EqualFold(name, "ARC-Message-Signature")
}

// BodySigned reports whether a signature covers the message's body: every DKIM-Signature and
// ARC-Message-Signature does (its bh= is the body's hash), so any change to the body, calendar
// data included, breaks it.
func BodySigned(hs []Header) bool {
	for _, h := range hs {
		if isSignature(h.Name) {
			return true
		}
	}
	return false
}
