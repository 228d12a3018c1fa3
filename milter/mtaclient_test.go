package milter

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"testing"
	"time"
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
// version 6, every action and every SMFIP_* bit; it sends each event's SMFIC_MACRO even when the
// milter asked not to get the event; it does not wait for a reply to an event whose SMFIP_NR_*
// bit the milter set; and its output is buffered until it reads (a VSTREAM flushes before a
// read), so events without a reply travel with the next one that has one.
type postfixMTA struct {
	tb   testing.TB
	conn net.Conn
	r    *bufio.Reader
	w    []byte
	// Version, Actions and Events are what the milter answered in SMFIC_OPTNEG.
	Version, Actions, Events uint32
}

// dialPostfix opens a milter connection and negotiates with offer as the SMFIP_* bits.
func dialPostfix(tb testing.TB, sock string, offer uint32) *postfixMTA {
	tb.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		tb.Fatal(err)
	}
	m := &postfixMTA{tb: tb, conn: c, r: bufio.NewReaderSize(c, 4096)}
	d := binary.BigEndian.AppendUint32(nil, 6)
	d = binary.BigEndian.AppendUint32(d, 0x1ff)
	d = binary.BigEndian.AppendUint32(d, offer)
	m.w = appendPacket(m.w, smficOptneg, d)
	p := m.read()
	if p.cmd != smficOptneg || len(p.data) < 12 {
		tb.Fatalf("SMFIC_OPTNEG answered with %q %q", p.cmd, p.data)
	}
	m.Version = binary.BigEndian.Uint32(p.data)
	m.Actions = binary.BigEndian.Uint32(p.data[4:])
	m.Events = binary.BigEndian.Uint32(p.data[8:])
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

// event sends one event as milter8_event does: the stage's macros (kv, always), then the event
// unless noSend is negotiated, then waits for the reply unless noReply is negotiated. It
// returns the replies up to the deciding one (modification requests first at end of message),
// or nil when it did not wait.
func (m *postfixMTA) event(cmd byte, noSend, noReply uint32, data []byte, kv ...string) []pkt {
	m.tb.Helper()
	if cmd == 'T' && m.Version < 4 {
		return nil // SMFIC_DATA is not in protocol version 2 or 3: not even its macros are sent
	}
	m.w = appendPacket(m.w, smficMacro, appendCStrings([]byte{cmd}, kv...))
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
	rcpts   []Rcpt
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
	r := m.event(smficConnect, smfipNoConn, smfipNRConn, connectPkt("client.example", addr, 40000).data,
		"{daemon_name}", daemon, "{client_addr}", addr, "{client_name}", "client.example")
	m.event(smficHelo, smfipNoHelo, smfipNRHelo, cstr("client.example"))
	return render(r)
}

// send runs one transaction: MAIL, RCPTs, DATA, headers, end of header, end of message.
func (m *postfixMTA) send(msg mtaMessage) mtaResult {
	m.tb.Helper()
	var res mtaResult
	res.mail = render(m.event(smficMail, smfipNoMail, smfipNRMail, cstr("<"+msg.from+">", msg.mailArg),
		"{daemon_name}", msg.daemon))
	for i, rc := range msg.rcpts {
		kv := []string{"{rcpt_addr}", rc.Addr}
		if i > 0 { // Postfix opens the queue file, so the queue ID exists, after a valid RCPT
			kv = append(kv, "i", msg.qid)
		}
		res.rcpts = append(res.rcpts, render(m.event(smficRcpt, smfipNoRcpt, smfipNRRcpt, cstr(append([]string{"<" + rc.Addr + ">"}, rc.Args...)...), kv...)))
	}
	m.event('T', smfipNoData, smfipNRData, nil, "i", msg.qid)
	for _, h := range msg.headers {
		m.event(smficHeader, smfipNoHdrs, smfipNRHdr, cstr(h[0], h[1]), "i", msg.qid)
	}
	m.event(smficEOH, smfipNoEOH, smfipNREOH, nil, "i", msg.qid)
	for _, p := range m.event(smficBodyEOB, 0, 0, nil, "i", msg.qid) {
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
