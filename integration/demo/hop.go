package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// hopSink stands in for a tenant's Exchange Online MX host, which the example's transports
// reach with smtp_tls_security_level=secure and a client certificate of their own: it offers
// STARTTLS with a certificate from the demo CA, asks for the client's certificate and records,
// with each message, the common name Postfix presented (how Exchange Online attributes a
// message to a tenant, seed 004). The harness sink speaks no TLS, so it serves the Internet
// side only.
type hopSink struct {
	name string
	srv  *smtp.Server
	ln   net.Listener

	mu   sync.Mutex
	msgs []*delivered
}

// delivered is one message a sink accepted, in the form the demo prints.
type delivered struct {
	// Sink names where it arrived: "the Internet", "tenant A", "tenant B".
	Sink string
	// Mail is MAIL FROM as "<addr> PARAM=..."; Rcpts each RCPT TO likewise.
	Mail  string
	From  string
	Rcpts []string
	// RcptAddrs are the bare recipient addresses.
	RcptAddrs []string
	Header    harness.Header
	// ClientCN is the common name of the client certificate Postfix presented ("" if none).
	ClientCN string
}

// startHopSink starts a TLS sink named name on 127.0.0.1 with a server certificate for
// localhost from ca.
func startHopSink(name string, ca *harness.CA) (*hopSink, error) {
	leaf, err := ca.Server("hop-"+strings.ReplaceAll(name, " ", "-"), "localhost", "127.0.0.1")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("next hop %s: %w", name, err)
	}
	s := &hopSink{name: name, ln: ln}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &hopSession{sink: s, conn: c}, nil
	}))
	s.srv.Domain = "hop.edgerewrite.test"
	s.srv.EnableDSN = true
	s.srv.ReadTimeout = time.Minute
	s.srv.ErrorLog = discardLogger{}
	s.srv.TLSConfig = &tls.Config{
		Certificates: []tls.Certificate{leaf.TLS},
		ClientAuth:   tls.RequestClientCert,
		MinVersion:   tls.VersionTLS12,
	}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// nexthop is the sink as a transport next hop. A name, not the address: with
// smtp_tls_security_level=secure Postfix matches the next hop's name against the server
// certificate (localhost comes from /etc/hosts; the instance does no DNS).
func (s *hopSink) nexthop() string {
	_, port, _ := net.SplitHostPort(s.ln.Addr().String())
	return "[localhost]:" + port
}

func (s *hopSink) close() error { return s.srv.Close() }

func (s *hopSink) messages() []*delivered {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*delivered(nil), s.msgs...)
}

type hopSession struct {
	sink *hopSink
	conn *smtp.Conn
	msg  *delivered
}

func (hs *hopSession) Reset()        { hs.msg = nil }
func (hs *hopSession) Logout() error { return nil }

func (hs *hopSession) Mail(from string, o *smtp.MailOptions) error {
	var params []string // in the order Postfix sends them
	if o != nil {
		if o.EnvelopeID != "" {
			params = append(params, "ENVID="+o.EnvelopeID)
		}
		if o.Return != "" {
			params = append(params, "RET="+string(o.Return))
		}
	}
	hs.msg = &delivered{Sink: hs.sink.name, From: from, Mail: withParams(from, params)}
	if st, ok := hs.conn.TLSConnectionState(); ok && len(st.PeerCertificates) > 0 {
		hs.msg.ClientCN = st.PeerCertificates[0].Subject.CommonName
	}
	return nil
}

func (hs *hopSession) Rcpt(to string, o *smtp.RcptOptions) error {
	var params []string // in the order Postfix sends them
	if o != nil {
		if o.OriginalRecipient != "" {
			params = append(params, fmt.Sprintf("ORCPT=%s;%s", strings.ToLower(string(o.OriginalRecipientType)), o.OriginalRecipient))
		}
		if len(o.Notify) > 0 {
			n := make([]string, len(o.Notify))
			for i, v := range o.Notify {
				n[i] = string(v)
			}
			params = append(params, "NOTIFY="+strings.Join(n, ","))
		}
	}
	hs.msg.Rcpts = append(hs.msg.Rcpts, withParams(to, params))
	hs.msg.RcptAddrs = append(hs.msg.RcptAddrs, to)
	return nil
}

func (hs *hopSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	hs.msg.Header, _, _ = harness.ParseMessage(data)
	s := hs.sink
	s.mu.Lock()
	s.msgs = append(s.msgs, hs.msg)
	s.mu.Unlock()
	hs.msg = nil
	return nil
}

// withParams is "<addr> P1 P2".
func withParams(addr string, params []string) string {
	return strings.Join(append([]string{"<" + addr + ">"}, params...), " ")
}

// fromHarness converts a message of the harness sink, keeping of the ESMTP parameters the DSN
// ones (RFC 3461: RET, ENVID, NOTIFY, ORCPT); SIZE and BODY say nothing about rewriting.
func fromHarness(sink string, m *harness.Message) *delivered {
	d := &delivered{Sink: sink, From: m.From, Header: m.Header(), Mail: withParams(m.From, dsnParams(m.MailParams))}
	for _, r := range m.Rcpts {
		d.Rcpts = append(d.Rcpts, withParams(r.Addr, dsnParams(r.Params)))
		d.RcptAddrs = append(d.RcptAddrs, r.Addr)
	}
	return d
}

// dsnParams are the DSN parameters among ps, as received.
func dsnParams(ps harness.Params) []string {
	var out []string
	for _, p := range ps {
		switch strings.ToUpper(p.Key) {
		case "RET", "ENVID", "NOTIFY", "ORCPT":
			out = append(out, harness.Params{p}.String())
		}
	}
	return out
}

// discardLogger silences go-smtp's log of client errors (Postfix's start-up probes).
type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}
