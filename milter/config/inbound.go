package config

// The values of inbound_header_rewrite: when To and Cc of inbound mail are rewritten. The
// envelope recipients are rewritten in every case, so routing never depends on it.
const (
	// InboundUnsigned rewrites an inbound To or Cc unless a DKIM signature (or ARC message
	// signature) of the message covers it: rewriting a signed field breaks the sender's
	// signature, and with SPF failing too (the gateway is not in the sender's SPF) DMARC fails
	// at the tenant. The default.
	InboundUnsigned = "unsigned"
	// InboundAlways rewrites inbound To and Cc whatever signs them, as Exchange Edge's inbound
	// agent did.
	InboundAlways = "always"
	// InboundNever leaves inbound To and Cc as they are.
	InboundNever = "never"
)
