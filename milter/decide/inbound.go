package decide

import "github.com/edgerewrite/edgerewrite/milter/config"

// inboundHeaders turns inbound_header_rewrite into the plan options for inbound To and Cc:
// whether they are rewritten, and whether a DKIM-signed one is kept as it is. Only the
// envelope decides routing, so every setting delivers alike; they differ in whether the
// sender's signature survives and in what the tenant's users see in To and Cc.
func inboundHeaders(setting string) (toCc, keepSigned bool) {
	switch setting {
	case config.InboundAlways:
		return true, false
	case config.InboundNever:
		return false, false
	}
	return true, true
}
