package harness

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

// SinkOptions configure a sink started with StartSinkWith.
type SinkOptions struct {
	// Name names the sink in WaitFor's error ("tenant A"); "" names it by its address.
	Name string
	// TLS, when set, makes the sink offer STARTTLS (RFC 3207) with this server configuration.
	// Set ClientAuth (tls.RequestClientCert at least) for the client's certificate to be asked for.
	TLS *tls.Config
	// ClientCAs, when set, verify the client certificate of a STARTTLS session: Message.ClientCN
	// is its common name when it chains to one of these, whatever its extended key usage (Postfix
	// may present a server certificate as its client certificate). Without ClientCAs, only a
	// certificate that TLS itself verified (tls.VerifyClientCertIfGiven) is recorded.
	ClientCAs *x509.CertPool
}

// StartTLSSink starts a sink that stands in for a next hop Postfix reaches with
// smtp_tls_security_level=secure (a tenant's Exchange Online MX host): it offers STARTTLS with a
// certificate from ca for localhost and 127.0.0.1 (written to ca.Dir as sink-NAME.crt/.key),
// asks for the client's certificate and records, with each message, the common name of the
// certificate Postfix presented once it verifies against ca. Postfix reaches it at Nexthop.
func StartTLSSink(name string, ca *CA) (*Sink, error) {
	leaf, err := ca.Server("sink-"+strings.ReplaceAll(name, " ", "-"), "localhost", "127.0.0.1")
	if err != nil {
		return nil, fmt.Errorf("sink %s: %w", name, err)
	}
	return StartSinkWith(SinkOptions{
		Name: name,
		TLS: &tls.Config{
			Certificates: []tls.Certificate{leaf.TLS},
			ClientAuth:   tls.RequestClientCert,
			MinVersion:   tls.VersionTLS12,
		},
		ClientCAs: ca.Pool,
	})
}

// NewTLSSink is StartTLSSink for tests; the sink closes when the test ends.
func NewTLSSink(t testing.TB, name string, ca *CA) *Sink {
	t.Helper()
	s, err := StartTLSSink(name, ca)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Nexthop is the sink as a Postfix transport next hop, "[localhost]:PORT". A name, not the
// address: with smtp_tls_security_level=secure Postfix matches the next hop's name against the
// server certificate, and it matches names only (a throwaway instance does no DNS; localhost
// comes from /etc/hosts).
func (s *Sink) Nexthop() string {
	_, port, _ := net.SplitHostPort(s.Addr())
	return "[localhost]:" + port
}

// Name is the sink's name (SinkOptions.Name), or its address without one.
func (s *Sink) Name() string {
	if s.name != "" {
		return s.name
	}
	return s.Addr()
}

// clientCN is the common name of the verified client certificate of c's TLS session, "" without
// TLS, without a certificate or when it does not verify.
func (s *Sink) clientCN(c *smtp.Conn) string {
	st, ok := c.TLSConnectionState()
	if !ok || len(st.PeerCertificates) == 0 {
		return ""
	}
	leaf := st.PeerCertificates[0]
	if len(st.VerifiedChains) > 0 {
		return leaf.Subject.CommonName
	}
	if s.clientCAs == nil {
		return ""
	}
	inter := x509.NewCertPool()
	for _, c := range st.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: s.clientCAs, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	if _, err := leaf.Verify(opts); err != nil {
		return ""
	}
	return leaf.Subject.CommonName
}

// The tap cannot read command lines inside TLS. For a STARTTLS session the parameters are
// rebuilt from go-smtp's parse instead, in the order Postfix sends them (smtp_proto.c), values
// xtext-encoded again (RFC 3461 §4): for what Postfix sends, the same text as on the wire.

// mailParams rebuilds MAIL FROM parameters: SIZE, BODY, ENVID, RET, SMTPUTF8.
func mailParams(o *smtp.MailOptions) Params {
	if o == nil {
		return nil
	}
	var ps Params
	if o.Size > 0 {
		ps = append(ps, Param{Key: "SIZE", Value: strconv.FormatInt(o.Size, 10)})
	}
	if o.Body != "" {
		ps = append(ps, Param{Key: "BODY", Value: string(o.Body)})
	}
	if o.EnvelopeID != "" {
		ps = append(ps, Param{Key: "ENVID", Value: xtext(o.EnvelopeID)})
	}
	if o.Return != "" {
		ps = append(ps, Param{Key: "RET", Value: string(o.Return)})
	}
	if o.UTF8 {
		ps = append(ps, Param{Key: "SMTPUTF8"})
	}
	return ps
}

// rcptParams rebuilds RCPT TO parameters: ORCPT, NOTIFY.
func rcptParams(o *smtp.RcptOptions) Params {
	if o == nil {
		return nil
	}
	var ps Params
	if o.OriginalRecipient != "" {
		ps = append(ps, Param{Key: "ORCPT", Value: strings.ToLower(string(o.OriginalRecipientType)) + ";" + xtext(o.OriginalRecipient)})
	}
	if len(o.Notify) > 0 {
		n := make([]string, len(o.Notify))
		for i, v := range o.Notify {
			n[i] = string(v)
		}
		ps = append(ps, Param{Key: "NOTIFY", Value: strings.Join(n, ",")})
	}
	return ps
}

// xtext encodes s as RFC 3461 §4 xtext: '+', '=' and bytes outside '!'..'~' become "+XX".
func xtext(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '!' || c > '~' || c == '+' || c == '=' {
			fmt.Fprintf(&b, "+%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
