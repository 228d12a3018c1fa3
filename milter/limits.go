package milter

// Bounds on what one milter client can make the daemon hold (config.Limits). Every quantity
// the MTA controls is counted where the wire layer parses it: macros per connection (count
// and bytes), header bytes and recipients per message, the time between commands, and the
// connections served at once. Hitting a bound never stalls the daemon: the message (or, for
// macros of the connect and HELO stages and for max_connections, the SMTP session) gets a
// temporary failure, with one log line and edgerewrite_limit_hits_total{limit}.

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"time"

	"github.com/edgerewrite/edgerewrite/milter/config"
)

// Names of the bounds, as config.Limits' TOML keys, for the log and the metric's label.
const (
	limitConnections = "max_connections"
	limitMacros      = "max_macros"
	limitMacroBytes  = "max_macro_bytes"
	limitHeaderBytes = "max_header_bytes"
	limitRecipients  = "max_recipients"
	limitReadTimeout = "read_timeout"
)

// maxRefusing bounds the connections over max_connections being answered at once; beyond it
// they are closed at once (the MTA then applies milter_default_action).
const maxRefusing = 64

// refuseTimeout bounds the exchange with a connection over max_connections.
const refuseTimeout = 10 * time.Second

// limited reports why the message in progress must get a temporary failure ("" if it need
// not): a bound it or its connection hit.
func (cs *connState) limited() string {
	if cs.connLimit != "" {
		return cs.connLimit
	}
	return cs.msgLimit
}

// setMacro records macro k=v in m (connMacros or msgMacros) within the connection's bounds.
// It returns the bound a new or longer macro would break, and then leaves m as it was.
func (cs *connState) setMacro(m map[string]string, k, v []byte, lim config.Limits) string {
	old, ok := m[string(k)]
	if ok && old == string(v) {
		return "" // Postfix repeats a stage's macros before each event: no copy, no change
	}
	delta := len(k) + len(v)
	if ok {
		delta = len(v) - len(old)
	} else if len(cs.connMacros)+len(cs.msgMacros) >= lim.MaxMacros {
		return limitMacros
	}
	if cs.macroBytes+delta > lim.MaxMacroBytes {
		return limitMacroBytes
	}
	m[string(k)] = string(v)
	cs.macroBytes += delta
	cs.dirty = true
	return ""
}

// clearMsgMacros forgets the message's macros.
func (cs *connState) clearMsgMacros() {
	if len(cs.msgMacros) == 0 {
		return
	}
	for k, v := range cs.msgMacros {
		cs.macroBytes -= len(k) + len(v)
	}
	clear(cs.msgMacros)
	cs.dirty = true
}

// hit records that the connection (conn set: every message of it) or the message in progress
// broke bound limit, logging it once and counting it.
func (c *wireConn) hit(limit string, conn bool, value, max int) {
	cs := c.cs
	if cs.limited() != "" {
		if conn {
			cs.connLimit = limit
		}
		return // logged when the first bound was hit
	}
	if conn {
		cs.connLimit = limit
	} else {
		cs.msgLimit = limit
	}
	what := "the message gets a temporary failure"
	if conn {
		what = "every message of the connection gets a temporary failure"
	}
	c.srv.metrics.LimitHits.WithLabelValues(limit).Inc()
	c.srv.log.Warn("milter limit reached; "+what, "limit", limit, "value", value, "max", max,
		"conn", cs.id, "qid", cs.msgMacros["i"], "client", cs.clientAddr)
}

// swallow drops MTA command cmd instead of passing it to go-milter, answering SMFIR_CONTINUE
// itself where the MTA waits for a reply. The headers of a message over a bound go this way:
// go-milter would keep each one.
func (c *wireConn) swallow(cmd byte) error {
	if c.cs.noReplyTo(cmd) {
		return nil
	}
	c.wbuf = appendPacket(c.wbuf, smfirContinue, nil)
	_, err := c.Conn.Write(c.wbuf)
	c.wbuf = c.wbuf[:0]
	return err
}

// armRead sets the deadline for the MTA's next command: read_timeout from now, or now when the
// connection is being drained between messages (so that drain's wake-up is never undone). The
// deadline is renewed at most once a second: a packet costs no timer update.
func (c *wireConn) armRead() {
	cs := c.cs
	if cs.conn == nil {
		return // a byte stream, not a network connection (the wire layer's tests)
	}
	now := time.Now()
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closing && !cs.busy {
		cs.conn.SetReadDeadline(now)
		return
	}
	if now.Sub(c.armed) < time.Second {
		return
	}
	c.armed = now
	cs.conn.SetReadDeadline(now.Add(c.srv.readTimeout))
}

// readFailed turns a failed read of the MTA's connection into what go-milter gets: EOF when
// the connection is being drained, or after a read timeout (logged and counted here).
func (c *wireConn) readFailed(err error) error {
	if c.cs.isClosing() {
		return io.EOF
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.srv.metrics.LimitHits.WithLabelValues(limitReadTimeout).Inc()
		c.srv.log.Warn("no command from the MTA within read_timeout; closing the milter connection",
			"limit", limitReadTimeout, "timeout_seconds", c.srv.readTimeout.Seconds(), "conn", c.cs.id,
			"in_message", c.cs.isBusy(), "qid", c.cs.msgMacros["i"], "client", c.cs.clientAddr)
		return io.EOF // logged: go-milter need not log it again
	}
	return err
}

// refuse answers a connection over max_connections without serving it: it negotiates (no
// actions, every event answered) and replies SMFIR_TEMPFAIL to the first event, so that the
// MTA gives that SMTP session a temporary failure (Postfix: 451 4.7.1), then closes.
func (s *Server) refuse(c net.Conn) {
	defer s.refusing.Add(-1)
	defer c.Close()
	c.SetDeadline(time.Now().Add(refuseTimeout))
	var hdr [4]byte
	buf := make([]byte, 0, 64)
	for {
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n == 0 || n > maxPacket {
			return
		}
		// Only the first bytes of a packet matter here; the rest is read and dropped.
		head := make([]byte, min(n, 13))
		if _, err := io.ReadFull(c, head); err != nil {
			return
		}
		if _, err := io.CopyN(io.Discard, c, int64(n)-int64(len(head))); err != nil {
			return
		}
		switch cmd := head[0]; cmd {
		case smficOptneg:
			version := uint32(6)
			if len(head) >= 5 {
				version = min(version, binary.BigEndian.Uint32(head[1:5]))
			}
			d := binary.BigEndian.AppendUint32(nil, version)
			d = binary.BigEndian.AppendUint32(d, 0) // no actions
			d = binary.BigEndian.AppendUint32(d, 0) // every event, every reply
			buf = appendPacket(buf[:0], smficOptneg, d)
		case smficMacro:
			continue
		case smficAbort:
			continue
		case 'Q': // SMFIC_QUIT
			return
		default:
			buf = appendPacket(buf[:0], smfirTempfail, nil)
		}
		if _, err := c.Write(buf); err != nil {
			return
		}
	}
}

// tooManyConns answers a connection over max_connections (refuse), or closes it at once when
// many are being answered already.
func (s *Server) tooManyConns(c net.Conn) {
	s.metrics.LimitHits.WithLabelValues(limitConnections).Inc()
	if s.refusing.Add(1) > maxRefusing {
		s.refusing.Add(-1)
		c.Close()
		return
	}
	s.log.Warn("milter limit reached; the SMTP session gets a temporary failure", "limit", limitConnections,
		"max", s.limits.MaxConnections)
	go s.refuse(c)
}
