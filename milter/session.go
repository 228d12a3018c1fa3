package milter

import (
	"net"
	"net/netip"
	"net/textproto"
	"runtime/debug"
	"strings"
	"time"

	gomilter "github.com/emersion/go-milter"

	"github.com/edgerewrite/edgerewrite/policy"
	"github.com/edgerewrite/edgerewrite/rewrite"
)

// session is one message as go-milter sees it. go-milter makes a new one per connection and
// after each final reply; it also resets itself at end of message and on SMFIC_ABORT, since a
// reply with our own code (SMFIR_REPLYCODE) keeps the same one.
type session struct {
	srv *Server
	cs  *connState

	started bool // SMFIC_MAIL seen: the fields below are this message's
	start   time.Time
	snap    *rewrite.Snapshot
	pol     *policy.Policy
	opts    DecideOptions
	class   policy.Class
	in      Input
}

func newSession(s *Server) *session { return &session{srv: s} }

// bind finds the connection state named by the {edgerewrite_conn} macro the wire layer adds.
func (s *session) bind(m *gomilter.Modifier) {
	if s.cs == nil && m != nil {
		s.cs = s.srv.lookupConn(m.Macros[macroConnID])
	}
}

// reset forgets the message.
func (s *session) reset() {
	s.started = false
	s.snap, s.pol = nil, nil
	s.in = Input{}
}

// Connect is SMFIC_CONNECT; the client's facts are taken from the macros at MAIL.
func (s *session) Connect(host, family string, port uint16, addr net.IP, m *gomilter.Modifier) (resp gomilter.Response, err error) {
	defer s.recoverTo(&resp, "connect")
	s.bind(m)
	return gomilter.RespContinue, nil
}

// Helo is SMFIC_HELO, which is not negotiated.
func (s *session) Helo(name string, m *gomilter.Modifier) (gomilter.Response, error) {
	return gomilter.RespContinue, nil
}

// MailFrom is SMFIC_MAIL: the message starts, on the rules snapshot and policy in service now.
func (s *session) MailFrom(from string, m *gomilter.Modifier) (resp gomilter.Response, err error) {
	defer s.recoverTo(&resp, "mail")
	s.bind(m)
	s.reset()
	s.start = s.srv.clock()
	s.snap = s.srv.tables()
	s.pol = s.srv.policy()
	s.opts = DecideOptions{RewriteOutboundToCc: s.srv.settings.Load().RewriteOutboundToCc}
	s.in.Conn = s.connInfo(m.Macros)
	s.in.From = from
	if s.pol == nil {
		s.srv.log.Error("no policy in service; message deferred", "client", s.in.Conn.Addr.String())
		return tempfailResponse("4.3.5", "edgerewrite has no configuration loaded, try again later"), nil
	}
	s.class = s.pol.Classify(s.in.Conn)
	s.started = true
	return gomilter.RespContinue, nil
}

// RcptTo is SMFIC_RCPT: the policy may refuse the recipient here, with its own reply.
func (s *session) RcptTo(rcpt string, m *gomilter.Modifier) (resp gomilter.Response, err error) {
	defer s.recoverTo(&resp, "rcpt")
	s.bind(m)
	if !s.started || s.failed() {
		return tempfailResponse("4.3.0", "temporary failure in the address rewriting service, try again later"), nil
	}
	var args []string
	if s.cs != nil {
		args = s.cs.rcptArgs(rcpt)
	}
	s.in.Rcpts = append(s.in.Rcpts, Rcpt{Addr: rcpt, Args: args})
	ro := DecideRecipient(s.class, rcpt, s.snap, s.pol, s.start)
	if ro.Refused() && !s.class.Observe {
		return replyResponse(ro.Result.Verdict), nil
	}
	return gomilter.RespContinue, nil
}

// Header is SMFIC_HEADER: the value is kept byte for byte (SMFIP_HDR_LEADSPC).
func (s *session) Header(name, value string, m *gomilter.Modifier) (resp gomilter.Response, err error) {
	defer s.recoverTo(&resp, "header")
	injectFault(name, value) // a no-op unless built with -tags faultinject (faultinject.go)
	if s.started {
		s.in.Headers = append(s.in.Headers, rewrite.Header{Name: name, Value: value})
	}
	return gomilter.RespContinue, nil
}

// Headers is SMFIC_EOH.
func (s *session) Headers(h textproto.MIMEHeader, m *gomilter.Modifier) (gomilter.Response, error) {
	return gomilter.RespContinue, nil
}

// BodyChunk is SMFIC_BODY, which is not negotiated.
func (s *session) BodyChunk(chunk []byte, m *gomilter.Modifier) (gomilter.Response, error) {
	return gomilter.RespContinue, nil
}

// Body is SMFIC_BODYEOB: decide, apply the actions, answer, log one line.
func (s *session) Body(m *gomilter.Modifier) (resp gomilter.Response, err error) {
	defer s.recoverTo(&resp, "end of message")
	defer s.reset()
	s.bind(m)
	if !s.started || s.failed() {
		return tempfailResponse("4.3.0", "temporary failure in the address rewriting service, try again later"), nil
	}
	s.in.QueueID = m.Macros["i"]
	out := Decide(s.in, s.snap, s.pol, s.opts, s.start)
	resp, err = s.answer(m, &out)
	if err != nil {
		s.srv.log.Error("sending milter actions failed", "qid", s.in.QueueID, "err", err)
		return nil, err
	}
	s.finish(&out)
	return resp, nil
}

// answer applies the outcome to the message and returns the final reply.
func (s *session) answer(m *gomilter.Modifier, out *Outcome) (gomilter.Response, error) {
	switch out.Action() {
	case policy.Reject, policy.Tempfail:
		return replyResponse(out.Verdict), nil
	}
	if out.Apply() {
		if err := applyActions(m, s.cs, out.Actions); err != nil {
			return nil, err
		}
	}
	if out.Action() == policy.Hold {
		// Rewritten now, quarantined as well: `postsuper -H` releases the message as it
		// would have been delivered (the rules in service at hold time decided it).
		if err := m.Quarantine(holdReason(out.Verdict)); err != nil {
			return nil, err
		}
	}
	return gomilter.RespAccept, nil
}

// Abort is SMFIC_ABORT (RSET, or a transaction that ended early). A message whose recipients
// were all refused ends here: it is logged, so that every deferred attempt is on record.
func (s *session) Abort(m *gomilter.Modifier) (err error) {
	defer func() {
		if v := recover(); v != nil {
			s.panicked(v, "abort")
			err = nil
		}
	}()
	defer s.reset()
	if !s.started || len(s.in.Rcpts) == 0 {
		return nil
	}
	out := Decide(s.in, s.snap, s.pol, s.opts, s.start)
	if refusedAny(out.Rcpts) && !out.Observe {
		s.finish(&out)
	}
	return nil
}

// finish logs the message's line and counts it.
func (s *session) finish(out *Outcome) {
	elapsed := s.srv.clock().Sub(s.start)
	s.srv.logMessage(&s.in, out, elapsed)
	s.srv.countMessage(out, elapsed)
}

func (s *session) failed() bool { return s.cs != nil && s.cs.failed }

// recoverTo turns a panic in a callback into a temporary failure of the message; the rest of
// the message is tempfailed too (the connection state remembers), and the daemon serves on.
func (s *session) recoverTo(resp *gomilter.Response, stage string) {
	if v := recover(); v != nil {
		s.panicked(v, stage)
		*resp = gomilter.RespTempFail
	}
}

func (s *session) panicked(v any, stage string) {
	s.srv.metrics.Panics.Inc()
	s.srv.log.Error("panic in milter session; message gets a temporary failure",
		"stage", stage, "qid", s.in.QueueID, "panic", v, "stack", string(debug.Stack()))
	if s.cs != nil {
		s.cs.failed = true
	}
	s.reset()
}

// connInfo builds the policy's view of the SMTP client from Postfix's macros, falling back to
// SMFIC_CONNECT for the address and name.
func (s *session) connInfo(macros map[string]string) policy.Conn {
	c := policy.Conn{
		Name:        macros["{client_name}"],
		DaemonName:  macros["{daemon_name}"],
		CertSubject: macros["{cert_subject}"],
		CertIssuer:  macros["{cert_issuer}"],
		AuthLogin:   macros["{auth_authen}"],
	}
	addr := macros["{client_addr}"]
	if s.cs != nil {
		if addr == "" {
			addr = s.cs.clientAddr
		}
		if c.Name == "" {
			c.Name = s.cs.clientName
		}
	}
	if a, err := netip.ParseAddr(strings.TrimPrefix(addr, "IPv6:")); err == nil {
		c.Addr = a
	}
	return c
}

func refusedAny(rs []RcptOutcome) bool {
	for _, r := range rs {
		if r.Refused() {
			return true
		}
	}
	return false
}
