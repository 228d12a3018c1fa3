package harness

import (
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Sink is a recording SMTP server on 127.0.0.1: the next hop Postfix relays to. It advertises
// DSN and SMTPUTF8 so that Postfix passes RET, ENVID, NOTIFY, ORCPT and SMTPUTF8 on. With
// SinkOptions.TLS it also offers STARTTLS (sink_tls.go).
type Sink struct {
	srv       *smtp.Server
	ln        net.Listener
	name      string
	clientCAs *x509.CertPool

	mu       sync.Mutex
	msgs     []*Message
	changed  chan struct{} // closed and replaced whenever msgs grows
	refused  int
	failWith func(*Message) *smtp.SMTPError
}

// Message is one transaction the sink accepted, as it was received.
type Message struct {
	// From is the MAIL FROM address without brackets ("" for the null sender).
	From string
	// MailParams are the MAIL FROM parameters as received, in order (after STARTTLS: as
	// go-smtp parsed them, in Postfix's order; see sink_tls.go).
	MailParams Params
	// MailLine is the MAIL command line as received ("" after STARTTLS, which the tap cannot read).
	MailLine string
	// Rcpts are the accepted RCPT TOs, in order.
	Rcpts []Rcpt
	// Data is the message as received, dot-unstuffed, CRLF line ends kept.
	Data []byte
	// Helo is the client's EHLO name; RemoteAddr its address.
	Helo, RemoteAddr string
	// At is when the final dot arrived.
	At time.Time
	// ClientCN is the common name of the verified client certificate of a STARTTLS session
	// ("" without TLS or without a verified certificate).
	ClientCN string
}

// Rcpt is one RCPT TO as received.
type Rcpt struct {
	Addr   string
	Params Params
	// Line is the RCPT command line as received ("" after STARTTLS, like Message.MailLine).
	Line string
}

// Notify is the NOTIFY parameter as received ("" if absent).
func (r Rcpt) Notify() string { v, _ := r.Params.Get("NOTIFY"); return v }

// ORCPT is the ORCPT parameter as received, e.g. "rfc822;bob@contoso.com" ("" if absent).
func (r Rcpt) ORCPT() string { v, _ := r.Params.Get("ORCPT"); return v }

// RET is the RET parameter as received.
func (m *Message) RET() string { v, _ := m.MailParams.Get("RET"); return v }

// ENVID is the ENVID parameter as received (xtext).
func (m *Message) ENVID() string { v, _ := m.MailParams.Get("ENVID"); return v }

// Body is the BODY parameter as received.
func (m *Message) Body() string { v, _ := m.MailParams.Get("BODY"); return v }

// SMTPUTF8 reports whether MAIL FROM carried SMTPUTF8.
func (m *Message) SMTPUTF8() bool { _, ok := m.MailParams.Get("SMTPUTF8"); return ok }

// RcptAddrs are the recipient addresses in order.
func (m *Message) RcptAddrs() []string {
	a := make([]string, len(m.Rcpts))
	for i, r := range m.Rcpts {
		a[i] = r.Addr
	}
	return a
}

// Header parses the message's header block, keeping every byte (see ParseMessage); a
// malformed line ends it early.
func (m *Message) Header() Header {
	h, _, _ := ParseMessage(m.Data)
	return h
}

// String summarises the envelope: "<from> RET=.. -> <rcpt> NOTIFY=.., ...".
func (m *Message) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "<%s>", m.From)
	if len(m.MailParams) > 0 {
		b.WriteString(" " + m.MailParams.String())
	}
	b.WriteString(" ->")
	for i, r := range m.Rcpts {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " <%s>", r.Addr)
		if len(r.Params) > 0 {
			b.WriteString(" " + r.Params.String())
		}
	}
	return b.String()
}

// StartSink starts a sink on 127.0.0.1 and a port the kernel picks.
func StartSink() (*Sink, error) { return StartSinkWith(SinkOptions{}) }

// StartSinkWith starts a sink configured by o on 127.0.0.1 and a port the kernel picks.
func StartSinkWith(o SinkOptions) (*Sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		if o.Name != "" {
			return nil, fmt.Errorf("sink %s: %w", o.Name, err)
		}
		return nil, fmt.Errorf("sink: %w", err)
	}
	s := &Sink{ln: ln, name: o.Name, clientCAs: o.ClientCAs, changed: make(chan struct{})}
	s.srv = smtp.NewServer(smtp.BackendFunc(s.newSession))
	s.srv.Domain = "sink.edgerewrite.test"
	s.srv.EnableDSN = true
	s.srv.EnableSMTPUTF8 = true
	s.srv.MaxLineLength = 10000
	s.srv.ReadTimeout = 5 * time.Minute
	s.srv.ErrorLog = log.New(os.Stderr, "sink: ", log.LstdFlags)
	s.srv.TLSConfig = o.TLS
	go func() { _ = s.srv.Serve(tapListener{ln}) }()
	return s, nil
}

// NewSink is StartSink for tests; the sink closes when the test ends.
func NewSink(t testing.TB) *Sink {
	t.Helper()
	s, err := StartSink()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Addr is the sink's host:port, for PostfixOptions.RelayTo or a transport's nexthop.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// Close stops the sink and closes open connections.
func (s *Sink) Close() error { return s.srv.Close() }

// Messages returns the messages received so far, oldest first.
func (s *Sink) Messages() []*Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Message(nil), s.msgs...)
}

// Count is how many messages have arrived (cheaper than len(Messages()) in a load loop).
func (s *Sink) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// Refused is how many transactions FailWith made the sink refuse.
func (s *Sink) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// WaitFor waits until at least n messages have arrived and returns all of them. On timeout it
// returns what arrived and an error naming both counts.
func (s *Sink) WaitFor(n int, timeout time.Duration) ([]*Message, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := len(s.msgs), s.changed
		s.mu.Unlock()
		if got >= n {
			return s.Messages(), nil
		}
		select {
		case <-changed:
		case <-deadline.C:
			msgs := s.Messages()
			return msgs, fmt.Errorf("sink %s: %d of %d messages arrived within %s", s.Name(), len(msgs), n, timeout)
		}
	}
}

// Reset forgets the messages received so far (and the refused count).
func (s *Sink) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs, s.refused = nil, 0
}

// FailWith installs f, asked at the end of every message: when it returns an error (e.g.
// &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"})
// the sink answers the final dot with it and does not record the message. nil f removes it.
func (s *Sink) FailWith(f func(*Message) *smtp.SMTPError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failWith = f
}

func (s *Sink) newSession(c *smtp.Conn) (smtp.Session, error) {
	tap, _ := c.Conn().(*tapConn) // nil after STARTTLS: c.Conn() is then the *tls.Conn
	return &sinkSession{sink: s, conn: c, tap: tap, helo: c.Hostname(), remote: c.Conn().RemoteAddr().String()}, nil
}

type sinkSession struct {
	sink         *Sink
	conn         *smtp.Conn
	tap          *tapConn
	helo, remote string
	msg          *Message
}

func (ss *sinkSession) Reset()        { ss.msg = nil }
func (ss *sinkSession) Logout() error { return nil }

func (ss *sinkSession) Mail(from string, o *smtp.MailOptions) error {
	ss.msg = &Message{From: from, Helo: ss.helo, RemoteAddr: ss.remote, ClientCN: ss.sink.clientCN(ss.conn)}
	if ss.tap != nil {
		ss.msg.MailLine = ss.tap.claim("MAIL FROM:")
		_, ss.msg.MailParams = parseCommandParams(ss.msg.MailLine)
	} else {
		ss.msg.MailParams = mailParams(o)
	}
	return nil
}

func (ss *sinkSession) Rcpt(to string, o *smtp.RcptOptions) error {
	r := Rcpt{Addr: to}
	if ss.tap != nil {
		r.Line = ss.tap.claim("RCPT TO:")
		_, r.Params = parseCommandParams(r.Line)
	} else {
		r.Params = rcptParams(o)
	}
	ss.msg.Rcpts = append(ss.msg.Rcpts, r)
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := ss.msg
	ss.msg = nil
	m.Data, m.At = data, time.Now()
	s := ss.sink
	s.mu.Lock()
	fail := s.failWith
	s.mu.Unlock()
	if fail != nil {
		if e := fail(m); e != nil {
			s.mu.Lock()
			s.refused++
			s.mu.Unlock()
			return e
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
	return nil
}
