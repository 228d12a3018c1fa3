package policy

import "time"

// Config is the policy part of the edgerewrite configuration file. Its fields are the file's
// top-level keys (the daemon embeds Config in its own configuration struct), decoded with
// go-toml/v2. New validates a Config and compiles it into a Policy.
//
// Domains anywhere in the configuration may be written as U-labels ("bücher.example") or A-labels
// ("xn--bcher-kva.example"), in any case, with or without a trailing dot; they are compared in
// their lower-case A-label form. Where a list says "domain patterns", "*.contoso.com" stands for
// contoso.com and every domain below it (as an Exchange accepted domain "*.contoso.com" does); a
// plain "contoso.com" never implies its subdomains.
type Config struct {
	// Observe (key "observe") turns on observe mode for all mail: every decision is made and
	// logged, nothing is refused, held or rewritten.
	Observe bool `toml:"observe"`

	// Organization (table "[organization]") lists the organisation's own domains and the pilot
	// scope.
	Organization Organization `toml:"organization"`

	// Connectors (array of tables "[[connector]]") are the trusted sources of outbound mail, in
	// the order they are tried; the first that matches a client wins. A client no connector
	// matches is the Internet.
	Connectors []Connector `toml:"connector"`

	// Tenants (array of tables "[[tenant]]") say which sender domains, and optionally which
	// Microsoft 365 tenant IDs, each sending system may use.
	Tenants []Tenant `toml:"tenant"`

	// Domains (array of tables "[[domain]]") say what happens to a recipient of a shared domain
	// that no rewrite rule resolves.
	Domains []Domain `toml:"domain"`

	// Cutovers (array of tables "[[cutover]]") defer or hold mail for a domain or an address
	// while it moves between systems.
	Cutovers []Cutover `toml:"cutover"`

	// RecipientDelimiter is not read from the policy keys: the daemon copies its own
	// recipient_delimiter setting here (each byte is a delimiter, "" turns extensions off, like
	// Postfix's recipient_delimiter). With it, "john+tag@contoso.com" matches a pilot, keep or
	// cutover entry for "john@contoso.com".
	RecipientDelimiter string `toml:"-"`
}

// Organization is the "[organization]" table.
type Organization struct {
	// Domains (key "domains", domain patterns) are the organisation's domains for relay
	// protection. The organisation's domains are these, every tenant's sender_domains and every
	// [[domain]] name; mail from the Internet to any other domain is refused.
	Domains []string `toml:"domains"`

	// PilotSenders (key "pilot_senders") limits outbound sender rewriting to the listed senders
	// while rolling out: full addresses ("john@tenanta.contoso.com") or whole domains
	// ("@tenanta.contoso.com"), written as the tenant sends them (before rewriting). Empty means
	// every sender.
	PilotSenders []string `toml:"pilot_senders"`
}

// Connector is one "[[connector]]" table: a trusted source of outbound mail and how Postfix
// recognises it. At least one criterion must be set; every criterion that is set must match
// (each criterion matches when any of its values does).
type Connector struct {
	// Name (key "name", required, unique) names the connector in logs and errors.
	Name string `toml:"name"`

	// Tenant (key "tenant", required) is the name of the [[tenant]] whose mail this is.
	Tenant string `toml:"tenant"`

	// Networks (key "networks") are client address prefixes ("40.92.0.0/15",
	// "2a01:111:f400::/48") or single addresses ("192.0.2.10"). Exchange Online's addresses are
	// shared by every Microsoft 365 customer: never use them alone.
	Networks []string `toml:"networks"`

	// DaemonNames (key "daemon_names") are Postfix {daemon_name} values, compared exactly.
	// Postfix sets {daemon_name} from milter_macro_daemon_name (default $myhostname), so each
	// dedicated smtpd in master.cf needs its own `-o milter_macro_daemon_name=NAME`.
	DaemonNames []string `toml:"daemon_names"`

	// CertSubjects (key "cert_subjects") are compared, case-insensitively and exactly, with
	// Postfix's {cert_subject}: the common name of the verified TLS client certificate, e.g.
	// "relay.tenanta.contoso.com". A leading "CN=" is ignored, so "CN=relay.tenanta.contoso.com"
	// works too. A client without a verified certificate never matches.
	CertSubjects []string `toml:"cert_subjects"`

	// CertIssuers (key "cert_issuers") are compared like CertSubjects with Postfix's
	// {cert_issuer}: the issuer's common name, e.g. "DigiCert Cloud Services CA-1".
	CertIssuers []string `toml:"cert_issuers"`

	// SASLLogins (key "sasl_logins") are Postfix {auth_authen} values, compared exactly.
	SASLLogins []string `toml:"sasl_logins"`

	// OnFailure (key "on_failure") is what a message failing tenant attribution gets: "reject"
	// (the default, 550 5.7.1) or "tempfail" (451 4.7.1, to be fixed and retried).
	OnFailure string `toml:"on_failure"`

	// Observe (key "observe") puts only this connector's mail in observe mode.
	Observe bool `toml:"observe"`
}

// Tenant is one "[[tenant]]" table: a sending system (a Microsoft 365 tenant, an on-premises
// system) and what it may send as.
type Tenant struct {
	// Name (key "name", required, unique) is what connectors refer to.
	Name string `toml:"name"`

	// SenderDomains (key "sender_domains", domain patterns, at least one) are the domains this
	// tenant's envelope senders and From addresses must be in. No domain may be claimed by two
	// tenants; where a pattern of one tenant covers a domain another lists ("*.contoso.com" and
	// "tenantb.contoso.com"), the more specific entry owns it.
	SenderDomains []string `toml:"sender_domains"`

	// TenantIDs (key "tenant_ids", optional) are the Microsoft 365 tenant IDs (GUIDs) accepted in
	// X-MS-Exchange-CrossTenant-Id. When set, a message must carry that header with exactly one
	// distinct value, and it must be one of these.
	TenantIDs []string `toml:"tenant_ids"`

	// AllowForeignFrom (key "allow_foreign_from", default true) lets forwarded mail pass: an
	// envelope sender and From addresses outside the organisation's domains, as a tenant user's
	// forwarding rule sends them (the original From, and often the original envelope sender,
	// since Exchange Online does not apply SRS towards on-premises servers). false refuses
	// them, for a connector that must only ever send as its own domains (an on-premises server
	// recognised by its address alone). An address in an organisation domain the tenant does
	// not own is refused either way; a bounce's From may be outside the organisation either way.
	AllowForeignFrom *bool `toml:"allow_foreign_from"`
}

// Domain is one "[[domain]]" table: how a shared domain treats a recipient no rewrite rule
// resolves, for mail from the Internet and hairpin mail from a connector.
type Domain struct {
	// Name (key "name", required, unique) is the shared domain, e.g. "contoso.edu".
	Name string `toml:"name"`

	// Unresolved (key "unresolved") is "reject" (the default: this gateway is authoritative,
	// 550 5.1.1 at RCPT, so unknown recipients never bounce between systems), "pass" (deliver
	// unchanged) or "route" (rewrite to local@route_to).
	Unresolved string `toml:"unresolved"`

	// RouteTo (key "route_to", required with "route") is the routing domain, e.g.
	// "live.contoso.edu".
	RouteTo string `toml:"route_to"`

	// Keep (key "keep", only with "route") lists addresses of this domain that stay as they are.
	Keep []string `toml:"keep"`
}

// Cutover is one "[[cutover]]" table: mail for a domain or an address that is moving.
type Cutover struct {
	// Match (key "match", required) is a domain ("fabrikam.com"), a domain pattern
	// ("*.fabrikam.com") or an address ("john@fabrikam.com"). For a recipient, an address match
	// wins over a domain match, and an exact domain over a pattern.
	Match string `toml:"match"`

	// Action (key "action", required) is "defer" (451 4.7.1 at RCPT with Text; the sender
	// retries) or "hold" (accepted and put in Postfix's hold queue with Text as the reason; a
	// message is held as a whole).
	Action string `toml:"action"`

	// Text (key "text") is the reply text (defer) or hold reason; printable ASCII. A default
	// text is used when empty.
	Text string `toml:"text"`

	// Start and End (keys "start" and "end", TOML date-times, optional) bound the window:
	// start <= now < end. A missing bound is open. A date-time without an offset is in the
	// gateway's local time zone.
	Start time.Time `toml:"start"`
	End   time.Time `toml:"end"`
}
