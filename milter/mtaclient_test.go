package milter

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/milter/decide"
)

// SMFIP_* protocol bits an MTA offers and a milter asks for in SMFIC_OPTNEG
// (milter-protocol-extras.txt).
const (
	smfipNoConn   = 1 << 0   // SMFIP_NOCONNECT
	smfipNoHelo   = 1 << 1   // SMFIP_NOHELO
	smfipNoMail   = 1 << 2   // SMFIP_NOMAIL
	smfipNoRcpt   = 1 << 3   // SMFIP_NORCPT
	smfipNoHdrs   = 1 << 5   // SMFIP_NOHDRS
	smfipNoEOH    = 1 << 6   // SMFIP_NOEOH
	smfipNoData   = 1 << 9   // SMFIP_NODATA
	postfixEvents = 0x1fffff // what Postfix 3.7 offers with milter_protocol = 6
)

// postfixMTA talks to a milter the way Postfix 3.7's milter8.c does: it offers protocol
// version 6, every action and every SMFIP_* bit; before each event it sends an SMFIC_MACRO
// with the macros of the stage's list (the milter's SMFIF_SETSYMLIST list, else main.cf's
// default) that have a value, even when the milter asked not to get the event; it does not
// wait for a reply to an event whose SMFIP_NR_* bit the milter set; and its output is
// buffered until it reads (a VSTREAM flushes before a read), so events without a reply travel
// with the next one that has one.
type postfixMTA struct {
	tb   testing.TB
	conn net.Conn
	r    *bufio.Reader
	w    []byte
	// Version, Actions and Events are what the milter answered in SMFIC_OPTNEG.
	Version, Actions, Events uint32
	lists                    map[byte][]string // macro names per event
	vals                     map[string]string // macro values now
	// before, when set, is called before each event's packets are buffered, to send more.
	before func(m *postfixMTA, cmd byte)
}

// postfixMacroDefaults are main.cf's milter_*_macros of Postfix 3.7, by event.
var postfixMacroDefaults = map[byte]string{
	smficConnect: "j {daemon_name} {daemon_addr} v _",
	smficHelo:    "{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}",
	smficMail:    "i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}",
	smficRcpt:    "i {rcpt_addr} {rcpt_host} {rcpt_mailer}",
	smficData:    "i",
	smficEOH:     "i",
	smficBodyEOB: "i",
}

// smfimEvents are the events of the SMFIM_* macro list numbers (SMFIM_EOH's list also goes
// with each header).
var smfimEvents = []byte{smficConnect, smficHelo, smficMail, smficRcpt, smficData, smficBodyEOB, smficEOH}

// dialPostfix opens a milter connection and negotiates with offer as the SMFIP_* bits, every
// action offered.
func dialPostfix(tb testing.TB, sock string, offer uint32) *postfixMTA {
	tb.Helper()
	return dialPostfixActions(tb, sock, offer, 0x1ff)
}

// dialPostfixActions is dialPostfix offering only actions (SMFIF_* bits).
func dialPostfixActions(tb testing.TB, sock string, offer, actions uint32) *postfixMTA {
	tb.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		tb.Fatal(err)
	}
	m := &postfixMTA{tb: tb, conn: c, r: bufio.NewReaderSize(c, 4096), lists: map[byte][]string{}, vals: map[string]string{}}
	d := binary.BigEndian.AppendUint32(nil, 6)
	d = binary.BigEndian.AppendUint32(d, actions)
	d = binary.BigEndian.AppendUint32(d, offer)
	m.w = appendPacket(m.w, smficOptneg, d)
	p := m.read()
	if p.cmd != smficOptneg || len(p.data) < 12 {
		tb.Fatalf("SMFIC_OPTNEG answered with %q %q", p.cmd, p.data)
	}
	m.Version = binary.BigEndian.Uint32(p.data)
	m.Actions = binary.BigEndian.Uint32(p.data[4:])
	m.Events = binary.BigEndian.Uint32(p.data[8:])
	for ev, names := range postfixMacroDefaults {
		m.lists[ev] = strings.Fields(names)
	}
	for rest := p.data[12:]; len(rest) >= 4; {
		n := binary.BigEndian.Uint32(rest)
		var names []byte
		names, rest = nextCString(rest[4:])
		if n < uint32(len(smfimEvents)) && len(names) > 0 {
			m.lists[smfimEvents[n]] = strings.Fields(string(names))
		}
	}
	m.lists[smficHeader] = m.lists[smficEOH]
	return m
}

// read flushes what is buffered and reads one packet.
func (m *postfixMTA) read() pkt {
	m.tb.Helper()
	m.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if len(m.w) > 0 {
		if _, err := m.conn.Write(m.w); err != nil {
			m.tb.Fatalf("writing to the milter: %v", err)
		}
		m.w = m.w[:0]
	}
	p, err := readPktErr(m.r)
	if err != nil {
		m.tb.Fatalf("reading the milter's reply: %v", err)
	}
	return p
}

// event sends one event as milter8_event does: the stage's macros (always), then the event
// unless noSend is negotiated, then waits for the reply unless noReply is negotiated. It
// returns the replies up to the deciding one (modification requests first at end of message),
// or nil when it did not wait.
func (m *postfixMTA) event(cmd byte, noSend, noReply uint32, data []byte) []pkt {
	m.tb.Helper()
	if cmd == smficData && m.Version < 4 {
		return nil // SMFIC_DATA is not in protocol version 2 or 3: not even its macros are sent
	}
	if m.before != nil {
		m.before(m, cmd)
	}
	start := len(m.w)
	m.w = append(m.w, 0, 0, 0, 0, smficMacro, cmd)
	for _, name := range m.lists[cmd] {
		if v, ok := m.vals[name]; ok {
			m.w = append(append(append(append(m.w, name...), 0), v...), 0)
		}
	}
	binary.BigEndian.PutUint32(m.w[start:], uint32(len(m.w)-start-4))
	if m.Events&noSend != 0 {
		return nil
	}
	m.w = appendPacket(m.w, cmd, data)
	if m.Events&noReply != 0 {
		return nil
	}
	var replies []pkt
	for {
		p := m.read()
		replies = append(replies, p)
		switch p.cmd {
		case '+', '-', '2', 'e', 'm', 'h', 'i', 'q', 'b':
			continue // a modification request: the decision follows
		}
		return replies
	}
}

// mtaMessage is one SMTP transaction as the benchmark and the no-reply tests send it.
type mtaMessage struct {
	qid     string
	daemon  string // {daemon_name}
	from    string
	mailArg string
	rcpts   []decide.Rcpt
	headers [][2]string
}

// mtaResult is what the milter answered, rendered by renderReply; a stage without a reply (not
// waited for) is "".
type mtaResult struct {
	mail  string
	rcpts []string
	end   []string
}

// connect sends SMFIC_CONNECT (and the HELO stage's macros) as smtpd does for a new client.
func (m *postfixMTA) connect(daemon, addr string) string {
	m.tb.Helper()
	m.vals["{daemon_name}"], m.vals["{client_addr}"], m.vals["{client_name}"] = daemon, addr, "client.example"
	m.vals["j"], m.vals["v"], m.vals["_"] = "gateway.example", "Postfix 3.7.11", "client.example ["+addr+"]"
	r := m.event(smficConnect, smfipNoConn, smfipNRConn, connectPkt("client.example", addr, 40000).data)
	m.event(smficHelo, smfipNoHelo, smfipNRHelo, cstr("client.example"))
	return render(r)
}

// send runs one transaction: MAIL, RCPTs, DATA, headers, end of header, end of message.
func (m *postfixMTA) send(msg mtaMessage) mtaResult {
	m.tb.Helper()
	var res mtaResult
	delete(m.vals, "i")
	m.vals["{daemon_name}"] = msg.daemon
	m.vals["{mail_addr}"] = msg.from
	res.mail = render(m.event(smficMail, smfipNoMail, smfipNRMail, cstr("<"+msg.from+">", msg.mailArg)))
	for _, rc := range msg.rcpts {
		m.vals["{rcpt_addr}"] = rc.Addr
		res.rcpts = append(res.rcpts, render(m.event(smficRcpt, smfipNoRcpt, smfipNRRcpt, cstr(append([]string{"<" + rc.Addr + ">"}, rc.Args...)...))))
		// smtpd opens the queue file, so the queue ID exists, after the first valid RCPT
		m.vals["i"] = msg.qid
	}
	m.event(smficData, smfipNoData, smfipNRData, nil)
	for _, h := range msg.headers {
		m.event(smficHeader, smfipNoHdrs, smfipNRHdr, cstr(h[0], h[1]))
	}
	m.event(smficEOH, smfipNoEOH, smfipNREOH, nil)
	for _, p := range m.event(smficBodyEOB, 0, 0, nil) {
		res.end = append(res.end, renderReply(p))
	}
	return res
}

// abort is SMFIC_ABORT, which smtpd sends after each transaction and on RSET.
func (m *postfixMTA) abort() { m.w = appendPacket(m.w, smficAbort, nil) }

// quit sends SMFIC_QUIT and closes the connection.
func (m *postfixMTA) quit() {
	m.w = appendPacket(m.w, 'Q', nil)
	m.conn.Write(m.w)
	m.conn.Close()
}

func render(ps []pkt) string {
	switch len(ps) {
	case 0:
		return ""
	case 1:
		return renderReply(ps[0])
	}
	return fmt.Sprint(ps)
}
