// Package rewrite holds edgerewrite's rule engine: the rule model compatible with Exchange's
// address rewrite entries (New-AddressRewriteEntry), the rule file loaders (native flat file and
// Exchange CSV), whole-load validation, the indexed in-memory table with its snapshots, and the
// rewriting of envelope addresses and header field values.
//
// It knows nothing of milters or Postfix: the daemon hands it plain strings and gets plain
// strings back.
package rewrite

import "fmt"

// Direction says which way a message crosses the gateway.
type Direction uint8

const (
	// Outbound rewrites internal addresses to external ones (a tenant sending out).
	Outbound Direction = iota + 1
	// Inbound rewrites external addresses back to internal ones (mail for the shared domain).
	Inbound
)

// String returns "outbound" or "inbound".
func (d Direction) String() string {
	switch d {
	case Outbound:
		return "outbound"
	case Inbound:
		return "inbound"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// Kind is one of Exchange's three kinds of address rewrite entry.
type Kind uint8

const (
	// KindAddress maps one address to one address: john@tenanta.contoso.com -> john@contoso.com.
	KindAddress Kind = iota + 1
	// KindDomain maps one domain to another, keeping the local part:
	// tenanta.contoso.com -> contoso.com.
	KindDomain
	// KindWildcard maps a domain and all its subdomains (*.contoso.com) to one domain, outbound
	// only, minus the listed exceptions.
	KindWildcard
)

// String returns "address", "domain" or "wildcard".
func (k Kind) String() string {
	switch k {
	case KindAddress:
		return "address"
	case KindDomain:
		return "domain"
	case KindWildcard:
		return "wildcard"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Position is where a rule was written: the file and the 1-based line.
type Position struct {
	File string
	Line int
}

// String returns "file:line", as admins and editors expect.
func (p Position) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Rule is one address rewrite entry, as written by the admin. Rules are immutable once loaded:
// the table and every snapshot share them.
type Rule struct {
	// Name is the CSV Name column, or empty for the native format.
	Name string
	// Internal is the internal side as written: an address, a domain, or "*.domain".
	Internal string
	// External is the external side as written: an address (for an address rule) or a domain.
	External string
	Kind     Kind
	// OutboundOnly rules rewrite internal -> external only; wildcards must be outbound only.
	OutboundOnly bool
	// Exceptions are the subdomains a wildcard never rewrites, as written.
	Exceptions []string
	// Pos is where the rule was written.
	Pos Position
}

// String names the rule for logs and for `edgerewrite test`: "file:line (internal -> external)".
func (r *Rule) String() string {
	if r == nil {
		return "no rule"
	}
	return fmt.Sprintf("%s (%s -> %s)", r.Pos, r.Internal, r.External)
}
