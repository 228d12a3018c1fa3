package policy

import (
	"net/netip"
	"slices"
	"strings"
)

// Conn is what Postfix tells a milter about the SMTP client (milter macros, MILTER_README).
type Conn struct {
	// Addr is the client address ({client_addr}); the zero Addr matches no network.
	Addr netip.Addr
	// Name is the verified client host name ({client_name}); for logs only.
	Name string
	// DaemonName is {daemon_name}: the smtpd service's name (milter_macro_daemon_name).
	DaemonName string
	// CertSubject is {cert_subject}: the CN of a verified TLS client certificate, else "".
	CertSubject string
	// CertIssuer is {cert_issuer}: the issuer CN of a verified TLS client certificate, else "".
	CertIssuer string
	// AuthLogin is {auth_authen}: the SASL login name, else "".
	AuthLogin string
}

// Class is where a connection's mail comes from.
type Class struct {
	// Connector is the name of the matching connector; "" for the Internet.
	Connector string
	// Tenant is the connector's tenant; "" for the Internet.
	Tenant string
	// Outbound is true for mail from a connector: its senders are the tenant's and are
	// rewritten outbound.
	Outbound bool
	// Observe: log verdicts and rewrites, enforce and change nothing (global or connector
	// observe mode).
	Observe bool
}

// Classify returns the first connector, in configuration order, all of whose set criteria match
// c; with none, the Internet (Outbound false).
func (p *Policy) Classify(c Conn) Class {
	for _, cn := range p.connectors {
		if cn.matches(c) {
			return Class{
				Connector: cn.name,
				Tenant:    cn.tenant.name,
				Outbound:  true,
				Observe:   p.observe || cn.observe,
			}
		}
	}
	return Class{Observe: p.observe}
}

// matches reports whether every criterion the connector sets matches c.
func (cn *connector) matches(c Conn) bool {
	if cn.nets != nil {
		a := c.Addr.Unmap().WithZone("")
		if !a.IsValid() || !slices.ContainsFunc(cn.nets, func(n netip.Prefix) bool { return n.Contains(a) }) {
			return false
		}
	}
	return matchExact(cn.daemons, c.DaemonName) && matchExact(cn.logins, c.AuthLogin) &&
		matchFold(cn.subjects, c.CertSubject) && matchFold(cn.issuers, c.CertIssuer)
}

// matchExact: an unset criterion matches; a set one needs an equal, non-empty value.
func matchExact(vals []string, v string) bool {
	return vals == nil || (v != "" && slices.Contains(vals, v))
}

// matchFold is matchExact, case-insensitive (vals are lower case already).
func matchFold(vals []string, v string) bool {
	return vals == nil || (v != "" && slices.Contains(vals, strings.ToLower(v)))
}
