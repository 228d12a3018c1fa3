package milter

// The wire layer sits between the MTA and go-milter v0.5.0 and parses the milter packet stream
// both ways (milter-protocol.txt: uint32 big-endian length of command byte + data, command
// byte, data). It gives go-milter what v0.5.0 lacks:
//
//   - SMFIC_MACRO: go-milter replaces Modifier.Macros on each packet. We swallow the MTA's
//     macro packets, keep connection macros (connect and HELO stages) for the whole
//     connection and message macros for the message, and inject one merged SMFIC_MACRO (no
//     reply, so the stream stays in step) before SMFIC_CONNECT, SMFIC_HELO, SMFIC_MAIL,
//     SMFIC_RCPT, SMFIC_EOH and SMFIC_BODYEOB when a macro changed since go-milter last got
//     them, with "{edgerewrite_conn}" naming the connection's state in the Server's registry.
//   - ESMTP arguments of SMFIC_MAIL and SMFIC_RCPT (go-milter drops them) are kept per
//     message in that state.
//   - SMFIR_ADDRCPT written by go-milter becomes SMFIR_ADDRCPT_PAR with the arguments the
//     session registered for that address, when the MTA offered SMFIF_ADDRCPT_PAR.
//   - No-reply steps (SMFIP_NR_*, milter-protocol-extras.txt): the Server's optNoReply steps
//     that the MTA offers are granted in go-milter's SMFIC_OPTNEG reply, and go-milter's
//     SMFIR_CONTINUE to such a command is swallowed; any other packet for it is a protocol
//     error that closes the connection (the MTA then applies milter_default_action).
//   - Outbound packets are written in one system call per reply the MTA waits for.
//   - Connections are counted, and drained on Shutdown between messages.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// Milter protocol codes the wire layer looks at (milter-protocol.txt and -extras.txt).
const (
	smficAbort   = 'A' // SMFIC_ABORT
	smficBody    = 'B' // SMFIC_BODY
	smficConnect = 'C' // SMFIC_CONNECT
	smficMacro   = 'D' // SMFIC_MACRO
	smficBodyEOB = 'E' // SMFIC_BODYEOB
	smficHelo    = 'H' // SMFIC_HELO
	smficHeader  = 'L' // SMFIC_HEADER
	smficMail    = 'M' // SMFIC_MAIL
	smficEOH     = 'N' // SMFIC_EOH
	smficOptneg  = 'O' // SMFIC_OPTNEG
	smficRcpt    = 'R' // SMFIC_RCPT
	smficData    = 'T' // SMFIC_DATA
	smficUnknown = 'U' // SMFIC_UNKNOWN

	smfirAddRcpt    = '+' // SMFIR_ADDRCPT
	smfirDelRcpt    = '-' // SMFIR_DELRCPT
	smfirReplBody   = 'b' // SMFIR_REPLBODY
	smfirContinue   = 'c' // SMFIR_CONTINUE
	smfirChgFrom    = 'e' // SMFIR_CHGFROM
	smfirAddHeader  = 'h' // SMFIR_ADDHEADER
	smfirInsHeader  = 'i' // SMFIR_INSHEADER
	smfirChgHeader  = 'm' // SMFIR_CHGHEADER
	smfirQuarantine = 'q' // SMFIR_QUARANTINE
	smfirAddRcptPar = '2' // SMFIR_ADDRCPT_PAR
	smfirAccept     = 'a' // SMFIR_ACCEPT
	smfirDiscard    = 'd' // SMFIR_DISCARD
	smfirReject     = 'r' // SMFIR_REJECT
	smfirTempfail   = 't' // SMFIR_TEMPFAIL
	smfirReplyCode  = 'y' // SMFIR_REPLYCODE
	smfirSkip       = 's' // SMFIR_SKIP

	smfifAddHdrs    = 1 << 0 // SMFIF_ADDHDRS
	smfifChgBody    = 1 << 1 // SMFIF_CHGBODY
	smfifAddRcpt    = 1 << 2 // SMFIF_ADDRCPT
	smfifDelRcpt    = 1 << 3 // SMFIF_DELRCPT
	smfifChgHdrs    = 1 << 4 // SMFIF_CHGHDRS
	smfifQuarantine = 1 << 5 // SMFIF_QUARANTINE
	smfifChgFrom    = 1 << 6 // SMFIF_CHGFROM
	smfifAddRcptPar = 1 << 7 // SMFIF_ADDRCPT_PAR

	smfipNoBody = 1 << 4  // SMFIP_NOBODY
	smfipNRHdr  = 1 << 7  // SMFIP_NR_HDR (also named SMFIP_NOHREPL)
	smfipSkip   = 1 << 10 // SMFIP_SKIP
	smfipNRConn = 1 << 12 // SMFIP_NR_CONN
	smfipNRHelo = 1 << 13 // SMFIP_NR_HELO
	smfipNRMail = 1 << 14 // SMFIP_NR_MAIL
	smfipNRRcpt = 1 << 15 // SMFIP_NR_RCPT
	smfipNRData = 1 << 16 // SMFIP_NR_DATA
	smfipNRUnkn = 1 << 17 // SMFIP_NR_UNKN
	smfipNREOH  = 1 << 18 // SMFIP_NR_EOH
	smfipNRBody = 1 << 19 // SMFIP_NR_BODY
	// smfipNRAll are all SMFIP_NR_* bits.
	smfipNRAll = smfipNRHdr | smfipNRConn | smfipNRHelo | smfipNRMail | smfipNRRcpt | smfipNRData |
		smfipNRUnkn | smfipNREOH | smfipNRBody

	// macroConnID is the macro that carries the connection id to the session.
	macroConnID = "{edgerewrite_conn}"
	// maxPacket bounds a packet's length (command byte and data), as go-milter does.
	maxPacket = 1 << 20
	// maxPending bounds the outbound bytes held back before a reply the MTA waits for.
	maxPending = 64 << 10
)

// wireListener hands go-milter wireConns and keeps accepting through temporary errors
// (go-milter's Serve would return on the first one, such as EMFILE).
type wireListener struct {
	net.Listener
	srv *Server
}

func (l *wireListener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if l.srv.isClosing() || !temporary(err) {
				return nil, err
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			l.srv.log.Warn("accepting a milter connection failed; retrying", "err", err, "retry_in", delay.Seconds())
			time.Sleep(delay)
			continue
		}
		cs := l.srv.addConn(c)
		if cs == nil {
			if l.srv.isClosing() {
				c.Close()
				return nil, ErrServerClosed
			}
			l.srv.tooManyConns(c)
			continue
		}
		wc := &wireConn{Conn: c, srv: l.srv, cs: cs, r: l.srv.reader(c)}
		cs.wire = wc
		return wc, nil
	}
}

func temporary(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}

// wireConn is one milter connection as go-milter sees it.
type wireConn struct {
	net.Conn
	srv *Server
	cs  *connState
	r   *bufio.Reader // the MTA's packets, many per read

	pkt   []byte // one inbound packet, reused
	in    []byte // inbound bytes ready for go-milter
	inOff int
	out   []byte    // outbound bytes from go-milter not yet a whole packet
	wbuf  []byte    // outbound bytes for the MTA, reused
	armed time.Time // when the read deadline was last set (armRead)

	closeOnce sync.Once
}

// Read gives go-milter the MTA's packets, edited.
func (c *wireConn) Read(p []byte) (int, error) {
	for c.inOff >= len(c.in) {
		c.in, c.inOff = c.in[:0], 0
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.in[c.inOff:])
	c.inOff += n
	return n, nil
}

// fill reads one packet from the MTA and queues what go-milter is to see of it (nothing, the
// packet, or an SMFIC_MACRO and the packet).
func (c *wireConn) fill() error {
	if c.cs.stopping() {
		return io.EOF
	}
	c.armRead()
	var hdr [4]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		return c.readFailed(err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > maxPacket {
		return fmt.Errorf("milter: packet length %d from the MTA is out of range 1-%d", n, maxPacket)
	}
	if cap(c.pkt) < int(n) {
		c.pkt = make([]byte, n)
	}
	c.pkt = c.pkt[:n]
	if _, err := io.ReadFull(c.r, c.pkt); err != nil {
		return c.readFailed(err)
	}
	return c.inbound(c.pkt[0], c.pkt[1:])
}

// inbound handles one MTA command.
func (c *wireConn) inbound(cmd byte, data []byte) error {
	cs := c.cs
	switch cmd {
	case smficOptneg:
		if len(data) >= 12 {
			cs.offered = binary.BigEndian.Uint32(data[4:8])
			cs.offeredSteps = binary.BigEndian.Uint32(data[8:12])
			cs.negotiated = true
		}
	case smficMacro:
		if len(data) == 0 {
			break // go-milter reports the malformed packet
		}
		stage, kv := data[0], data[1:]
		m, conn := cs.msgMacros, false
		switch stage {
		case smficConnect, smficHelo:
			m, conn = cs.connMacros, true
		case smficMail: // a new transaction
			cs.clearMsgMacros()
			cs.msgLimit = ""
		}
		for len(kv) > 0 {
			var k, v []byte
			k, kv = nextCString(kv)
			v, kv = nextCString(kv)
			// A macro over the bounds is dropped, and the message (for the connect and HELO
			// stages: every message of the connection) fails: a policy decision without a
			// macro it asked for (a client certificate, a SASL login) could be wrong.
			if limit := cs.setMacro(m, k, v, c.srv.limits); limit != "" {
				max := c.srv.limits.MaxMacros
				if limit == limitMacroBytes {
					max = c.srv.limits.MaxMacroBytes
				}
				c.hit(limit, conn, cs.macroBytes+len(k)+len(v), max)
			}
		}
		return nil
	case smficConnect:
		cs.clientName, cs.clientAddr = parseConnect(data)
		c.injectMacros(cmd)
	case smficMail:
		if !cs.beginMessage() {
			return io.EOF // draining: this message is left to milter_default_action
		}
		cs.resetMessage() // a MAIL without SMFIC_ABORT after the previous message starts afresh
		_, cs.mailArgs = parseEnvelope(data)
		c.injectMacros(cmd)
	case smficRcpt:
		_, cs.rcptArgs = parseEnvelope(data)
		if cs.rcpts++; cs.rcpts > c.srv.limits.MaxRecipients {
			c.hit(limitRecipients, false, cs.rcpts, c.srv.limits.MaxRecipients)
		}
		c.injectMacros(cmd)
	case smficHeader:
		if cs.limited() == "" {
			if cs.headerBytes += len(data); cs.headerBytes > c.srv.limits.MaxHeaderBytes {
				c.hit(limitHeaderBytes, false, cs.headerBytes, c.srv.limits.MaxHeaderBytes)
			}
		}
		if cs.limited() != "" {
			return c.swallow(cmd) // the message fails at its end; go-milter need not keep it
		}
	case smficHelo, smficEOH, smficBodyEOB:
		c.injectMacros(cmd)
	case smficAbort:
		cs.endMessage()
	}
	cs.lastCmd, cs.answered = cmd, false
	c.in = appendPacket(c.in, cmd, data)
	return nil
}

// injectMacros queues one SMFIC_MACRO with every macro go-milter should see now (connection
// macros, then the message's, which win, then the connection id), when they changed since it
// last saw them.
func (c *wireConn) injectMacros(stage byte) {
	cs := c.cs
	if !cs.dirty {
		return
	}
	cs.dirty = false
	size := 2 + len(macroConnID) + 1 + len(cs.id) + 1
	for k, v := range cs.connMacros {
		if _, ok := cs.msgMacros[k]; !ok {
			size += len(k) + len(v) + 2
		}
	}
	for k, v := range cs.msgMacros {
		size += len(k) + len(v) + 2
	}
	c.in = binary.BigEndian.AppendUint32(c.in, uint32(size))
	c.in = append(c.in, smficMacro, stage)
	for k, v := range cs.connMacros {
		if _, ok := cs.msgMacros[k]; !ok {
			c.in = appendCStrings(c.in, k, v)
		}
	}
	for k, v := range cs.msgMacros {
		c.in = appendCStrings(c.in, k, v)
	}
	c.in = appendCStrings(c.in, macroConnID, cs.id)
}

// Write takes go-milter's packets, edits them (outbound) and holds them until go-milter has
// written a packet the MTA waits for: the modification requests of end of message then go in
// one system call with the final reply, and nothing the MTA waits for is ever held back.
func (c *wireConn) Write(p []byte) (int, error) {
	c.out = append(c.out, p...)
	off := 0
	flush := false
	for len(c.out)-off >= 5 {
		n := int(binary.BigEndian.Uint32(c.out[off:]))
		if n == 0 || n > maxPacket {
			return 0, fmt.Errorf("milter: reply packet length %d is out of range 1-%d", n, maxPacket)
		}
		if len(c.out)-off-4 < n {
			break
		}
		var err error
		c.wbuf, err = c.outbound(c.wbuf, c.out[off+4], c.out[off+5:off+4+n])
		if err != nil {
			// Not logged here: go-milter logs the error of the write, or of the callback that
			// made it, once.
			return 0, fmt.Errorf("milter protocol error on connection %s; closing it (the MTA applies milter_default_action): %w", c.cs.id, err)
		}
		flush = flush || awaited(c.out[off+4])
		off += 4 + n
	}
	c.out = c.out[:copy(c.out, c.out[off:])]
	if len(c.wbuf) > 0 && (flush || len(c.wbuf) >= maxPending) {
		_, err := c.Conn.Write(c.wbuf)
		c.wbuf = c.wbuf[:0]
		if err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// queue takes one modification request of end of message from the session itself, encoded as
// go-milter would (its data without the length and command), through the same edits as
// go-milter's packets (outbound): the request waits in the write buffer for the final reply,
// and costs no allocation of its own.
func (c *wireConn) queue(cmd byte, data []byte) error {
	var err error
	c.wbuf, err = c.outbound(c.wbuf, cmd, data)
	if err != nil {
		return err
	}
	if len(c.wbuf) >= maxPending {
		_, err = c.Conn.Write(c.wbuf)
		c.wbuf = c.wbuf[:0]
	}
	return err
}

// reply sends the reply cmd, without data, to the command the MTA waits on, after the
// modification requests queued before it and through the same edits as go-milter's packets
// (outbound). The session answers every message's common events this way (session.direct).
func (c *wireConn) reply(cmd byte) error {
	var err error
	if c.wbuf, err = c.outbound(c.wbuf, cmd, nil); err != nil {
		return fmt.Errorf("milter protocol error on connection %s; closing it (the MTA applies milter_default_action): %w", c.cs.id, err)
	}
	if len(c.wbuf) == 0 {
		return nil // a command the MTA expects no reply to
	}
	_, err = c.Conn.Write(c.wbuf)
	c.wbuf = c.wbuf[:0]
	return err
}

// awaited reports whether the MTA waits for packet cmd: every reply but the modification
// requests of end of message, which it reads until the final reply comes (SMFIR_PROGRESS too
// is sent at once: it keeps the MTA's timer from running out).
func awaited(cmd byte) bool {
	switch cmd {
	case smfirAddRcpt, smfirAddRcptPar, smfirDelRcpt, smfirReplBody, smfirChgFrom, smfirAddHeader,
		smfirInsHeader, smfirChgHeader, smfirQuarantine:
		return false
	}
	return true
}

// outbound appends the packet the MTA is to get for one go-milter packet: nothing for the
// SMFIR_CONTINUE of a command the MTA expects no reply to (SMFIP_NR_*); any other packet for
// such a command is an error, since the MTA would read it as the answer to a later command.
func (c *wireConn) outbound(w []byte, cmd byte, data []byte) ([]byte, error) {
	cs := c.cs
	if cs.noReplyTo(cs.lastCmd) {
		if cmd != smfirContinue || len(data) != 0 || cs.answered {
			return w, fmt.Errorf("milter: reply %q to command %q, which the MTA expects no reply to (SMFIP_NR_*)", cmd, cs.lastCmd)
		}
		cs.answered = true
		return w, nil
	}
	switch cmd {
	case smficOptneg:
		return c.negotiate(w, data), nil
	case smfirChgFrom, smfirChgHeader, smfirAddHeader, smfirInsHeader, smfirQuarantine, smfirDelRcpt, smfirAddRcpt, smfirReplBody:
		if !c.offeredAction(cmd) {
			return w, nil
		}
	}
	switch cmd {
	case smfirAddRcpt:
		addr := trimBrackets(cstring(data))
		if args, ok := cs.addArgs[addr]; ok && cs.offered&smfifAddRcptPar != 0 {
			delete(cs.addArgs, addr)
			w = binary.BigEndian.AppendUint32(w, uint32(1+len(addr)+2+1+len(args)+1))
			w = append(w, smfirAddRcptPar, '<')
			w = append(w, addr...)
			w = append(w, '>', 0)
			w = append(w, args...)
			return append(w, 0), nil
		}
	case smfirAccept, smfirDiscard, smfirReject, smfirTempfail, smfirReplyCode:
		if endsMessage(cs.lastCmd, cmd) {
			cs.endMessage()
		}
	}
	return appendPacket(w, cmd, data), nil
}

// offeredAction reports whether the MTA offered the action of modification request cmd. A
// request it did not offer is not sent (Postfix would end the milter's part in the message),
// and the first of each kind is logged. A recipient is only replaced when the MTA offered both
// removing and adding one: deleting it alone would lose it.
func (c *wireConn) offeredAction(cmd byte) bool {
	cs := c.cs
	if !cs.negotiated {
		return true
	}
	var need uint32
	switch cmd {
	case smfirChgFrom:
		need = smfifChgFrom
	case smfirChgHeader:
		need = smfifChgHdrs
	case smfirAddHeader, smfirInsHeader:
		need = smfifAddHdrs
	case smfirQuarantine:
		need = smfifQuarantine
	case smfirReplBody:
		need = smfifChgBody
	case smfirAddRcpt, smfirDelRcpt:
		if cs.offered&smfifDelRcpt != 0 && cs.offered&(smfifAddRcpt|smfifAddRcptPar) != 0 {
			return true
		}
		need = smfifDelRcpt | smfifAddRcpt
	default:
		return true
	}
	if cs.offered&need == need {
		return true
	}
	if old := c.srv.unoffered.Load(); old&need != need && c.srv.unoffered.CompareAndSwap(old, old|need) {
		c.srv.log.Warn("the MTA did not offer a milter action; that change is not made (enable it in the MTA's milter settings)",
			"request", string(cmd), "conn", cs.id, "qid", cs.msgMacros["i"])
	}
	return false
}

// negotiate appends go-milter's SMFIC_OPTNEG reply (version, actions, protocol steps, then the
// macro lists) with the SMFIP_NR_* steps set to those the Server wants and the MTA offered, and
// notes them: go-milter answers every command, and outbound swallows those answers.
func (c *wireConn) negotiate(w []byte, data []byte) []byte {
	start := len(w)
	w = appendPacket(w, smficOptneg, data)
	if len(data) < 12 {
		return w // go-milter always sends 12 bytes or more; the MTA will refuse this one
	}
	cs := c.cs
	cs.noReply = c.srv.noReply & cs.offeredSteps & smfipNRAll
	proto := binary.BigEndian.Uint32(data[8:12])&^smfipNRAll | cs.noReply
	// Body chunks only where they can be skipped: otherwise every message's whole body would
	// cross the socket for the few that hold calendar data.
	cs.body = c.srv.wantsBodies() && cs.offeredSteps&smfipSkip != 0
	if cs.body {
		proto = proto&^smfipNoBody | smfipSkip
	} else {
		proto = proto&^smfipSkip | smfipNoBody
	}
	binary.BigEndian.PutUint32(w[start+5+8:], proto)
	if cs.negotiated {
		// Ask only for the actions the MTA offered: Postfix ends the milter's part in a
		// message that uses an action it did not offer.
		actions := binary.BigEndian.Uint32(data[4:8]) & cs.offered
		binary.BigEndian.PutUint32(w[start+5+4:], actions)
	}
	return w
}

// endsMessage reports whether a final reply to command last ends the message: any final reply
// does except a reject or tempfail of one recipient at SMFIC_RCPT.
func endsMessage(last, reply byte) bool {
	switch last {
	case smficMail, smficHeader, smficEOH, smficBody, smficBodyEOB:
		return true
	case smficRcpt:
		return reply == smfirAccept || reply == smfirDiscard
	}
	return false
}

// Close closes the connection and removes it from the Server's registry.
func (c *wireConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() {
		c.srv.removeConn(c.cs)
		c.r.Reset(nil) // go-milter reads no more once it closes
		c.srv.readers.Put(c.r)
	})
	return err
}
