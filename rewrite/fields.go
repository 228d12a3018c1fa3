package rewrite

// AddressField is one address header field of a message, read once (RFC 5322 §3.4
// address-list): the addresses policy judges and the spans Compute rewrites come from the same
// scan of its value, so what is checked is what is rewritten.
type AddressField struct {
	// Name is the field name as written in the message.
	Name string
	// Index is the 1-based occurrence among the message's fields of that name, compared
	// case-insensitively, as SMFIR_CHGHEADER counts.
	Index int
	// Value is the field value as the MTA sent it.
	Value string
	// Addrs are its addr-specs in order, as RewriteAddressList's fn gets them: without CFWS, a
	// quoted local part that needs no quotes unquoted. The null address "<>" is not listed. Nil
	// when Err is set.
	Addrs []string
	// Err, when set, wraps ErrUnparsable: the value is not an address-list, and which addresses
	// a mail reader would show from it is unknown. It says what is wrong and at which byte.
	Err error

	read bool // set by ReadAddressFields: scan holds the spans of Value
	scan listScanner
}

// ReadAddressFields reads every header field of hs that Compute may rewrite (From, Sender,
// Reply-To, Resent-From, Resent-Sender, Return-Receipt-To, Disposition-Notification-To, To, Cc),
// in message order. Pass the result to policy and as Message.Fields to Compute.
func ReadAddressFields(hs []Header) []AddressField {
	n := 0
	for _, h := range hs {
		if fieldOf(h.Name) >= 0 {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	fs := make([]AddressField, 0, n) // one allocation: a field holds its scanner, spans inline
	var seen [numFields]int
	for _, h := range hs {
		k := fieldOf(h.Name)
		if k < 0 {
			continue
		}
		seen[k]++
		fs = append(fs, AddressField{Name: h.Name, Index: seen[k], Value: h.Value, read: true, scan: listScanner{s: h.Value}})
		f := &fs[len(fs)-1]
		if f.Err = f.scan.scan(); f.Err != nil {
			continue
		}
		f.Addrs = make([]string, f.scan.n)
		for i := range f.Addrs {
			f.Addrs[i] = f.scan.span(i).addr
		}
	}
	return fs
}

// IsSender reports whether f names the message's author or sender: From, Sender or Resent-From
// (RFC 5322 §3.6.2, §3.6.6), the fields a mail reader shows as who sent it.
func (f *AddressField) IsSender() bool {
	k := fieldOf(f.Name)
	return k == fieldFrom || k == fieldSender || k == fieldResentFrom
}
