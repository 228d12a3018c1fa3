package milter

import (
	"fmt"
	"net"
	"net/netip"
	"net/textproto"
	"runtime/debug"
	"strings"

	gomilter "github.com/emersion/go-milter"

	"github.com/edgerewrite/edgerewrite/milter/decide"
	"github.com/edgerewrite/edgerewrite/policy"
)

// session is one message as go-milter sees it. go-milter makes a new one per connection and
// after each final reply; it also resets itself at end of message and on SMFIC_ABORT, since a
// reply with our own code (SMFIR_REPLYCODE) keeps the same one.
type session struct {
	srv *Server
	cs  *connState

	noPolicy bool            // SMFIC_MAIL found no generation in service: recipients are tempfailed
	msg      *decide.Message // the message since SMFIC_MAIL, on the generation it started with
	bodySeen bool            // the first SMFIC_BODY of the message was answered
	bodySkip bool            // the rest of the body is not wanted
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
	s.noPolicy = false
	s.msg = nil
	s.bodySeen, s.bodySkip = false, false
}

// pass is the answer "go on" to command cmd: none at all where the MTA expects no reply
// (SMFIP_NR_*, negotiated per connection by the wire layer), so that go-milter writes nothing;
// SMFIR_CONTINUE otherwise. Commands that may be refused (SMFIC_RCPT, end of message) are
// always answered.
func (s *session) pass(cmd byte) gomilter.Response {
	if s.cs != nil && s.cs.noReplyTo(cmd) {
		return nil
	}
	return gomilter.RespContinue
}

// Connect is SMFIC_CONNECT; the client's facts are taken from the macros at MAIL.
func (s *session) Connect(host, family string, port uint16, addr net.IP, m *gomilter.Modifier) (resp gomilter.Response, err error) {
	defer s.recoverTo(&resp, smficConnect, "connect")
	s.bind(m)
	return s.pass(smficConnect), nil
}

// Helo is SMFIC_HELO, which is not negotiated.
func (s *session) Helo(name string, m *gomilter.Modifier) (gomilter.Response, error) {
	return s.pass(smficHelo), nil
}

// MailFrom is SMFIC_MAIL: the message starts, on the generation in service now, and the
// connection is classified. It never refuses (the MTA may not wait for its answer): without a
// generation the recipients are tempfailed at SMFIC_RCPT.
func (s *session) MailFrom(from string, m *gomilter.Modifier) (resp gomilter.Response, err error) {
	defer s.recoverTo(&resp, smficMail, "mail")
	s.bind(m)
	s.reset()
	conn := s.connInfo(m.Macros)
	gen := s.srv.gen()
	if gen == nil {
		s.srv.log.Error("no configuration in service; message deferred", "client", conn.Addr.String())
		s.noPolicy = true
		return s.pass(smficMail), nil
	}
	s.msg = gen.Begin(conn, from, s.srv.clock())
	if s.cs != nil {
		s.msg.MailArgs(s.cs.mailArgs)
	}
	return s.pass(smficMail), nil
}

// RcptTo is SMFIC_RCPT: the policy may refuse the recipient here, with its own reply.
func (s *session) RcptTo(rcpt string, m *gomilter.Modifier) (resp gomilter.Response, err error) {
	defer s.recoverTo(&resp, smficRcpt, "rcpt")
	s.bind(m)
	if s.noPolicy {
		return noPolicyResponse(), nil
	}
	if s.msg == nil || s.failed() {
		return tempfailResponse("4.3.0", "temporary failure in the address rewriting service, try again later"), nil
	}
	var args []string
	if s.cs != nil {
		args = s.cs.rcptArgs
	}
	ro := s.msg.Recipient(rcpt, args)
	if ro.Refused() && !s.msg.Class().Observe {
		return replyResponse(ro.Result.Verdict), nil
	}
	return s.direct(gomilter.RespContinue)
}

// Header is SMFIC_HEADER: the value is kept byte for byte (SMFIP_HDR_LEADSPC).
func (s *session) Header(name, value string, m *gomilter.Modifier) (resp gomilter.Response, err error) {
	defer s.recoverTo(&resp, smficHeader, "header")
	s.bind(m)
	injectFault(name, value) // a no-op unless built with -tags faultinject (faultinject.go)
	if s.msg != nil {
		s.msg.Header(name, value)
	}
	return s.pass(smficHeader), nil
}

// Headers is SMFIC_EOH, which is not negotiated.
func (s *session) Headers(h textproto.MIMEHeader, m *gomilter.Modifier) (gomilter.Response, error) {
	return s.pass(smficEOH), nil
}

// respSkip is SMFIR_SKIP: no more body chunks of this message (go-milter v0.5.0 has the code but
// no ready response). It is never modified.
var respSkip = gomilter.NewResponse(smfirSkip, nil)

// direct sends resp itself, through the wire layer, when it is one of the replies every message
// gets (SMFIR_CONTINUE to a recipient or a body chunk, SMFIR_SKIP, SMFIR_ACCEPT), and leaves
// go-milter nothing to write: go-milter v0.5.0 allocates a 4 KiB buffered writer for every
// packet it writes, most of a message's garbage, and with a large rule table in the heap each
// collection is costly. After an accept go-milter would start a new session; this one has
// forgotten the message already (Body), so it serves the next message the same.
func (s *session) direct(resp gomilter.Response) (gomilter.Response, error) {
	if s.cs == nil || s.cs.wire == nil {
		return resp, nil
	}
	var code byte
	switch resp {
	case gomilter.RespContinue:
		code = smfirContinue
	case gomilter.RespAccept:
		code = smfirAccept
	case respSkip:
		code = smfirSkip
	default:
		return resp, nil
	}
	if err := s.cs.wire.reply(code); err != nil {
		return nil, err
	}
	return nil, nil
}

// BodyChunk is SMFIC_BODY, negotiated with SMFIP_SKIP (wireConn.negotiate). At the first chunk
// the message says whether its body is wanted (calendar data possible); the body of every other
// message is skipped there, and a body over the size limit from the chunk that crosses it.
func (s *session) BodyChunk(chunk []byte, m *gomilter.Modifier) (resp gomilter.Response, err error) {
	defer s.recoverTo(&resp, smficBody, "body")
	if s.msg == nil || s.failed() || s.bodySkip {
		return s.direct(s.skip())
	}
	if !s.bodySeen {
		s.bodySeen = true
		if !s.msg.WantsBody() {
			return s.direct(s.skip())
		}
	}
	if !s.msg.BodyChunk(chunk) {
		return s.direct(s.skip())
	}
	return s.direct(gomilter.RespContinue)
}

// skip answers a body chunk that is not wanted: SMFIR_SKIP where the MTA can skip, else a
// plain continue with the chunk dropped (and every later one).
func (s *session) skip() gomilter.Response {
	s.bodySkip = true
	if s.cs != nil && s.cs.body {
		return respSkip
	}
	return gomilter.RespContinue
}

// Body is SMFIC_BODYEOB: decide, apply the actions, answer, log one line.
func (s *session) Body(m *gomilter.Modifier) (resp gomilter.Response, err error) {
	defer s.recoverTo(&resp, smficBodyEOB, "end of message")
	defer s.reset()
	s.bind(m)
	if s.noPolicy {
		return noPolicyResponse(), nil
	}
	if s.msg == nil || s.failed() {
		return tempfailResponse("4.3.0", "temporary failure in the address rewriting service, try again later"), nil
	}
	out := s.msg.End(m.Macros["i"])
	resp, err = s.answer(m, &out)
	if err != nil {
		// go-milter logs the error a callback returns, and closes the connection: logged here
		// as well, it would be logged twice.
		return nil, fmt.Errorf("sending the milter actions of queue id %s: %w", s.msg.Input().QueueID, err)
	}
	s.finish(&out)
	return s.direct(resp)
}

// answer applies the outcome to the message and returns the final reply.
func (s *session) answer(m *gomilter.Modifier, out *decide.Outcome) (gomilter.Response, error) {
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
	if s.msg == nil || len(s.msg.Input().Rcpts) == 0 {
		return nil
	}
	out := s.msg.End(s.msg.Input().QueueID)
	if refusedAny(out.Rcpts) && !out.Observe {
		s.finish(&out)
	}
	return nil
}

// finish logs the message's line and counts it.
func (s *session) finish(out *decide.Outcome) {
	elapsed := s.srv.clock().Sub(s.msg.Start())
	s.srv.logMessage(s.msg.Input(), out, elapsed)
	s.srv.countMessage(out, elapsed)
}

// noPolicyResponse defers a message that found no policy in service.
func noPolicyResponse() gomilter.Response {
	return tempfailResponse("4.3.5", "edgerewrite has no configuration loaded, try again later")
}

// failed reports whether the rest of the message is tempfailed: a callback panicked, or the
// message or its connection broke a bound (config.Limits).
func (s *session) failed() bool { return s.cs != nil && (s.cs.failed || s.cs.limited() != "") }

// recoverTo turns a panic in the callback of command cmd into a temporary failure of the
// message; the rest of the message is tempfailed too (the connection state remembers), and the
// daemon serves on. Where the MTA expects no reply to cmd, nothing is answered and the
// failure is told at its next command that gets one (SMFIC_RCPT or end of message).
func (s *session) recoverTo(resp *gomilter.Response, cmd byte, stage string) {
	if v := recover(); v != nil {
		s.panicked(v, stage)
		*resp = gomilter.RespTempFail
		if s.cs != nil && s.cs.noReplyTo(cmd) {
			*resp = nil
		}
	}
}

func (s *session) panicked(v any, stage string) {
	s.srv.metrics.Panics.Inc()
	qid := ""
	if s.msg != nil {
		qid = s.msg.Input().QueueID
	}
	s.srv.log.Error("panic in milter session; message gets a temporary failure",
		"stage", stage, "qid", qid, "panic", v, "stack", string(debug.Stack()))
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

func refusedAny(rs []decide.RcptOutcome) bool {
	for _, r := range rs {
		if r.Refused() {
			return true
		}
	}
	return false
}
