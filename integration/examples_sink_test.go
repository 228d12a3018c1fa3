package integration

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// tlsSink stands in for a next hop that the examples reach with
// smtp_tls_security_level=secure, such as a tenant's Exchange Online MX host: it offers
// STARTTLS with a certificate from the test CA, asks for a client certificate and records,
// with each message, the common name of the certificate Postfix presented. That name is how
// Exchange Online attributes the message to a tenant (seed 004), so the examples' tests check
// it on every delivery into a tenant.
type tlsSink struct {
	name string
	srv  *smtp.Server
	ln   net.Listener

	mu      sync.Mutex
	msgs    []*hopMessage
	changed chan struct{}
}

// hopMessage is one message a tlsSink accepted.
type hopMessage struct {
	From       string
	Rcpts      []hopRcpt
	Data       []byte
	ClientCN   string // CN of the client certificate ("" without one)
	TLSVersion uint16
}

// hopRcpt is one RCPT TO with its DSN parameters as go-smtp parsed them.
type hopRcpt struct {
	Addr   string
	Notify string // "SUCCESS,FAILURE", "" when absent
	ORCPT  string // "rfc822;john@contoso.com", "" when absent
}

func (m *hopMessage) rcptAddrs() []string {
	a := make([]string, len(m.Rcpts))
	for i, r := range m.Rcpts {
		a[i] = r.Addr
	}
	return a
}

func (m *hopMessage) header(t *testing.T) harness.Header {
	t.Helper()
	h, _, err := harness.ParseMessage(m.Data)
	if err != nil {
		t.Fatalf("message at %s: %v", m.From, err)
	}
	return h
}

// newTLSSink starts a sink on 127.0.0.1 with a server certificate for 127.0.0.1 and localhost.
func newTLSSink(t *testing.T, name string, ca *harness.CA) *tlsSink {
	t.Helper()
	leaf, err := ca.Server("sink-"+name, "localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &tlsSink{name: name, ln: ln, changed: make(chan struct{})}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &hopSession{sink: s, conn: c}, nil
	}))
	s.srv.Domain = name + ".sink.edgerewrite.test"
	s.srv.EnableDSN = true
	s.srv.EnableSMTPUTF8 = true
	s.srv.ReadTimeout = time.Minute
	s.srv.TLSConfig = &tls.Config{
		Certificates: []tls.Certificate{leaf.TLS},
		ClientAuth:   tls.RequestClientCert,
		MinVersion:   tls.VersionTLS12,
	}
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(func() { s.srv.Close() })
	return s
}

// addr is the sink's host:port.
func (s *tlsSink) addr() string { return s.ln.Addr().String() }

// nexthop is the sink as a transport nexthop: [localhost]:PORT. A name, not the address:
// smtp_tls_security_level=secure matches the next hop's name with the server certificate, and
// Postfix matches names only (the sink's certificate is for localhost; with DNS off in the
// test instance, Postfix finds localhost in /etc/hosts).
func (s *tlsSink) nexthop() string {
	_, port, _ := net.SplitHostPort(s.addr())
	return "[localhost]:" + port
}

func (s *tlsSink) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = nil
}

func (s *tlsSink) messages() []*hopMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*hopMessage(nil), s.msgs...)
}

// waitFor waits until n messages have arrived and returns them, or fails the test.
func (s *tlsSink) waitFor(t *testing.T, n int, timeout time.Duration) []*hopMessage {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := len(s.msgs), s.changed
		s.mu.Unlock()
		if got >= n {
			return s.messages()
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("next hop %q: %d of %d messages arrived within %s", s.name, got, n, timeout)
		}
	}
}

type hopSession struct {
	sink *tlsSink
	conn *smtp.Conn
	msg  *hopMessage
}

func (hs *hopSession) Reset()        { hs.msg = nil }
func (hs *hopSession) Logout() error { return nil }

func (hs *hopSession) Mail(from string, _ *smtp.MailOptions) error {
	hs.msg = &hopMessage{From: from}
	if st, ok := hs.conn.TLSConnectionState(); ok {
		hs.msg.TLSVersion = st.Version
		if len(st.PeerCertificates) > 0 {
			hs.msg.ClientCN = st.PeerCertificates[0].Subject.CommonName
		}
	}
	return nil
}

func (hs *hopSession) Rcpt(to string, o *smtp.RcptOptions) error {
	r := hopRcpt{Addr: to}
	if o != nil {
		var n []string
		for _, v := range o.Notify {
			n = append(n, string(v))
		}
		r.Notify = strings.Join(n, ",")
		if o.OriginalRecipient != "" {
			r.ORCPT = fmt.Sprintf("%s;%s", strings.ToLower(string(o.OriginalRecipientType)), o.OriginalRecipient)
		}
	}
	hs.msg.Rcpts = append(hs.msg.Rcpts, r)
	return nil
}

func (hs *hopSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	hs.msg.Data = data
	s := hs.sink
	s.mu.Lock()
	s.msgs = append(s.msgs, hs.msg)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	return nil
}
