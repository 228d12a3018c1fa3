// Package policy decides, per message, what an Exchange Edge server's connectors and transport
// rules decided: which direction a message travels, which tenant sent it and whether it may,
// relay protection, authoritative shared domains, cutover defer and hold, observe mode and pilot
// scope. Decisions are pure functions over plain values; the package knows nothing of the milter
// protocol.
//
// # Use
//
// The daemon decodes Config from its TOML file, compiles it with New (which reports every
// problem at once), and per connection and message calls:
//
//	cl := p.Classify(policy.Conn{...})            // connect/HELO macros
//	r := p.Recipient(cl, rcpt, resolved, now)     // each RCPT TO; resolved: a rewrite rule matched
//	m := p.Message(cl, policy.Message{...}, now)  // end of message
//
// When cl.Observe is set the daemon logs the verdicts with a marker and enforces and rewrites
// nothing. A Policy is immutable; a reload compiles a new one.
//
// Cutover list files (*.cutover in the rules directory, one migration wave each) are read by a
// WaveLoader and added with p.WithWaves, which indexes their entries with the [[cutover]]
// tables: an entry matches exactly as a table does, and a verdict it decides names it in
// Verdict.Source ("wave-07.cutover:12").
//
// # Decisions
//
// Classify: connectors are tried in order; the first whose every set criterion matches wins
// (networks, {daemon_name}, {cert_subject} and {cert_issuer} compared with the certificate's
// common name case-insensitively, {auth_authen}); an empty macro never matches a configured
// criterion. No connector: the Internet.
//
// Message, outbound (connector) mail: the envelope sender's domain and each From address's
// domain must be the tenant's (the most specific sender_domains entry covering it is this
// tenant's) or, unless the tenant sets allow_foreign_from = false, outside the organisation:
// that is forwarded mail, which keeps its original From and often its original envelope
// sender. A From, Sender or Resent-From field that cannot be parsed is refused, and so is an
// envelope sender or one of those addresses at or below an organisation domain the tenant does
// not own; Sender and Resent-From addresses outside the organisation pass. The fields are
// judged as rewrite.ReadAddressFields read them, the reading rewrite.Compute then rewrites. The
// null sender passes the envelope check, and its From addresses may be outside the
// organisation (Exchange Online's NDRs come from MAILER-DAEMON@<server>.prod.outlook.com or
// postmaster@<tenant>.onmicrosoft.com), but never in another organisation domain: a bounce gets
// no more trust than any other message. With tenant_ids, the
// X-MS-Exchange-CrossTenant-Id values must be exactly one distinct ID, and one of the list.
// A failure is 550 5.7.1 (451 4.7.1 with on_failure = "tempfail") and the sender is not
// rewritten. Then, for any mail: a recipient under a hold cutover in its window holds the whole
// message. RewriteSender is true for outbound mail that passed, when the envelope sender (for
// the null sender: every From address) is in the pilot scope.
//
// Recipient: Internet mail to a domain outside the organisation ([organization] domains,
// every tenant's sender_domains, every [[domain]] name; a route_to domain is not included
// unless listed), or with '@', '%' or '!' in the local part, is refused with 554 5.7.1.
// Connector mail may go anywhere. Then a defer cutover in its window answers 451 4.7.1 with its
// text (cutover before the shared-domain check: during a move, unknown is not final). Then an
// unresolved recipient of a [[domain]], Internet or hairpin, is refused with 550 5.1.1
// ("reject", the default), passed ("pass") or routed to local@route_to unless listed in keep
// ("route").
//
// Addresses and domains compare as rewrite rules match them (rewrite.AddressKey,
// rewrite.NormalizeDomain): domains in lower-case A-label form (UTS #46), so U-labels and
// A-labels match in configuration and messages alike; local parts case-insensitively, in NFC,
// and unquoted when the quotes are not needed ("john"@x is john@x); subdomains are implied only
// by a "*." pattern. With Config.RecipientDelimiter an address with an extension (a Microsoft
// 365 SRS local part "john+SRS=..." included) also matches the configured address without it.
//
// # Reasons
//
// Verdict.Reason is a token, then ": " and the value it concerns:
//
//	sender-domain: <domain>|none      envelope sender not the tenant's
//	from-domain: <domain>|none        a From address not the tenant's
//	from-unparsable                   a From field that cannot be parsed
//	sender-header-domain: <domain>    a Sender address in an organisation domain not the tenant's
//	sender-header-unparsable          a Sender field that cannot be parsed
//	resent-from-domain: <domain>      a Resent-From address in an organisation domain not the tenant's
//	resent-from-unparsable            a Resent-From field that cannot be parsed
//	tenant-id-missing                 no X-MS-Exchange-CrossTenant-Id, tenant_ids set
//	tenant-id-multiple: <n>           n different X-MS-Exchange-CrossTenant-Id values
//	tenant-id-mismatch: <id>          the one value is not in tenant_ids
//	unknown-tenant: <name>            a Class from an older Policy names a tenant gone since
//	relay-denied: <domain>            Internet mail to a domain outside the organisation
//	relay-denied: routing in local part
//	unknown-recipient: <domain>       unresolved recipient of an authoritative [[domain]]
//	cutover-defer: <match>            451 by a defer cutover
//	cutover-hold: <match>             held by a hold cutover
package policy
