package harness

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Envelope is one SMTP transaction to send. ESMTP parameter values are sent exactly as given
// (xtext encoding, RFC 3461 §4, is the caller's business), so tests control every byte.
type Envelope struct {
	// Helo is the EHLO name. Default "client.edgerewrite.test".
	Helo string
	// LocalAddr is the source IP, e.g. "127.0.0.5" to look like another client network.
	LocalAddr string
	// TLS, when set, makes the client say STARTTLS (and EHLO again) before MAIL; put a client
	// certificate in Certificates for Postfix to verify.
	TLS *tls.Config

	// From is the envelope sender without angle brackets; "" is the null sender <>.
	From string
	// RET, ENVID and Body are sent as RET=, ENVID= and BODY= when not empty; SMTPUTF8 adds
	// the SMTPUTF8 keyword. MailParams are further raw parameters ("SIZE=123").
	RET, ENVID, Body string
	SMTPUTF8         bool
	MailParams       []string

	// Rcpts are sent in order, each as its own RCPT TO.
	Rcpts []RcptTo
	// Data is the message (header, blank line, body). Bare LF becomes CRLF; dots are stuffed.
	Data []byte
	// Timeout bounds the whole transaction. Default 30 s.
	Timeout time.Duration
}

// RcptTo is one RCPT TO with its DSN parameters (RFC 3461 §4.1, §4.2).
type RcptTo struct {
	// Addr is the recipient without angle brackets.
	Addr string
	// Notify is sent as NOTIFY=<Notify>, e.g. "SUCCESS,FAILURE" or "NEVER".
	Notify string
	// ORCPT is sent as ORCPT=<ORCPT>, e.g. "rfc822;bob@contoso.com".
	ORCPT string
	// Params are further raw parameters.
	Params []string
}

// Rcpts makes plain RcptTo values from addresses.
func Rcpts(addrs ...string) []RcptTo {
	r := make([]RcptTo, len(addrs))
	for i, a := range addrs {
		r[i].Addr = a
	}
	return r
}

var queuedAsRE = regexp.MustCompile(`queued as ([0-9A-Za-z]+)`)

// Send runs one transaction against addr (host:port) and QUITs. The error reports only what no
// SMTP reply explains (dial, TLS, I/O, malformed replies); refusals are in the Result.
func Send(addr string, env Envelope) (*Result, error) {
	timeout := env.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	d := net.Dialer{Timeout: timeout}
	if env.LocalAddr != "" {
		ip := net.ParseIP(env.LocalAddr)
		if ip == nil {
			return nil, fmt.Errorf("send: LocalAddr %q is not an IP address", env.LocalAddr)
		}
		d.LocalAddr = &net.TCPAddr{IP: ip}
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("send: %w", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	s := &clientConn{conn: conn, r: bufio.NewReader(conn), res: &Result{}}
	if err := s.run(env); err != nil {
		return s.res, fmt.Errorf("send to %s: %w", addr, err)
	}
	return s.res, nil
}

// MustSend is Send for tests: it fails the test unless every reply was positive.
func MustSend(t testing.TB, addr string, env Envelope) *Result {
	t.Helper()
	res, err := Send(addr, env)
	if err == nil {
		err = res.Err()
	}
	if err != nil {
		t.Fatalf("send from <%s>: %v", env.From, err)
	}
	return res
}

type clientConn struct {
	conn net.Conn
	r    *bufio.Reader
	res  *Result
}

func (c *clientConn) cmd(line string) (Reply, error) {
	if _, err := c.conn.Write([]byte(line + "\r\n")); err != nil {
		return Reply{}, err
	}
	return readReply(c.r)
}

func (c *clientConn) run(env Envelope) error {
	var err error
	if c.res.Greeting, err = readReply(c.r); err != nil || c.res.Greeting.Code != 220 {
		return err
	}
	helo := env.Helo
	if helo == "" {
		helo = "client.edgerewrite.test"
	}
	if c.res.Ehlo, err = c.cmd("EHLO " + helo); err != nil || c.res.Ehlo.Code != 250 {
		return err
	}
	if env.TLS != nil {
		if !strings.Contains("\n"+strings.ToUpper(c.res.Ehlo.Text)+"\n", "\nSTARTTLS\n") {
			return errors.New("server does not offer STARTTLS")
		}
		rep, err := c.cmd("STARTTLS")
		if err != nil {
			return err
		}
		if rep.Code != 220 {
			return fmt.Errorf("STARTTLS refused: %w", rep.Err())
		}
		tc := tls.Client(c.conn, env.TLS)
		if err := tc.Handshake(); err != nil {
			return fmt.Errorf("TLS handshake: %w", err)
		}
		st := tc.ConnectionState()
		c.res.TLS = &st
		c.conn, c.r = tc, bufio.NewReader(tc)
		if c.res.Ehlo, err = c.cmd("EHLO " + helo); err != nil || c.res.Ehlo.Code != 250 {
			return err
		}
	}
	if c.res.Mail, err = c.cmd(mailLine(env)); err != nil {
		return err
	}
	if c.res.Mail.Code != 250 {
		return c.quit()
	}
	accepted := 0
	for _, rc := range env.Rcpts {
		rep, err := c.cmd(rcptLine(rc))
		if err != nil {
			return err
		}
		c.res.Rcpts = append(c.res.Rcpts, rep)
		if rep.Code/100 == 2 {
			accepted++
		}
	}
	if accepted == 0 {
		return c.quit()
	}
	rep, err := c.cmd("DATA")
	if err != nil {
		return err
	}
	if rep.Code != 354 {
		c.res.Data = rep
		return c.quit()
	}
	w := textproto.NewWriter(bufio.NewWriter(c.conn)).DotWriter()
	if _, err := w.Write(env.Data); err != nil {
		return err
	}
	if err := w.Close(); err != nil { // writes CRLF . CRLF and flushes
		return err
	}
	if c.res.Data, err = readReply(c.r); err != nil {
		return err
	}
	if m := queuedAsRE.FindStringSubmatch(c.res.Data.Text); m != nil && c.res.Data.Code == 250 {
		c.res.QueueID = m[1]
	}
	return c.quit()
}

func (c *clientConn) quit() error {
	_, err := c.cmd("QUIT")
	return err
}

func mailLine(env Envelope) string {
	var b strings.Builder
	b.WriteString("MAIL FROM:<" + env.From + ">")
	for _, p := range [][2]string{{"BODY", env.Body}, {"RET", env.RET}, {"ENVID", env.ENVID}} {
		if p[1] != "" {
			b.WriteString(" " + p[0] + "=" + p[1])
		}
	}
	if env.SMTPUTF8 {
		b.WriteString(" SMTPUTF8")
	}
	for _, p := range env.MailParams {
		b.WriteString(" " + p)
	}
	return b.String()
}

func rcptLine(r RcptTo) string {
	var b strings.Builder
	b.WriteString("RCPT TO:<" + r.Addr + ">")
	if r.Notify != "" {
		b.WriteString(" NOTIFY=" + r.Notify)
	}
	if r.ORCPT != "" {
		b.WriteString(" ORCPT=" + r.ORCPT)
	}
	for _, p := range r.Params {
		b.WriteString(" " + p)
	}
	return b.String()
}
