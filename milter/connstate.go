package milter

import (
	"net"
	"sync"
	"time"
)

// connState is what edgerewrite knows of one milter connection. Apart from mu's fields it is
// used only by the connection's goroutine: go-milter reads a packet, calls the session back
// and writes the reply, all on one goroutine.
type connState struct {
	id   string
	conn net.Conn  // the MTA's connection, closed by Shutdown when its time is up
	wire *wireConn // the wire layer over conn; nil for a session without one (tests)
	req  []byte    // one modification request being encoded, reused

	offered      uint32            // SMFIF_* actions the MTA offered in SMFIC_OPTNEG
	negotiated   bool              // offered and offeredSteps are the MTA's
	offeredSteps uint32            // SMFIP_* protocol steps the MTA offered in SMFIC_OPTNEG
	noReply      uint32            // SMFIP_NR_* steps negotiated: the MTA expects no reply to them
	body         bool              // body chunks negotiated, with SMFIP_SKIP
	answered     bool              // go-milter replied to lastCmd (for a no-reply command: swallowed)
	clientName   string            // from SMFIC_CONNECT
	clientAddr   string            // from SMFIC_CONNECT
	connMacros   map[string]string // connect and HELO stage macros, for the whole connection
	msgMacros    map[string]string // macros of the message in progress
	dirty        bool              // macros changed since go-milter last got them
	lastCmd      byte              // the last command forwarded to go-milter

	mailArgs []string          // ESMTP arguments of this message's SMFIC_MAIL
	rcptArgs []string          // ESMTP arguments of the SMFIC_RCPT being processed
	addArgs  map[string]string // SMFIR_ADDRCPT_PAR arguments the session registered, by address
	failed   bool              // a callback panicked: the rest of the message is tempfailed

	// Counts against config.Limits (limits.go).
	macroBytes  int    // names and values of connMacros and msgMacros
	headerBytes int    // SMFIC_HEADER data of the message
	rcpts       int    // SMFIC_RCPTs of the message
	msgLimit    string // the bound the message in progress broke: it gets a temporary failure
	connLimit   string // the bound the connection broke: every message of it does

	mu      sync.Mutex
	busy    bool // inside a message: from SMFIC_MAIL to its final reply or SMFIC_ABORT
	closing bool // Shutdown: close when not busy
}

func newConnState(id string, c net.Conn) *connState {
	return &connState{
		id:         id,
		conn:       c,
		connMacros: make(map[string]string),
		msgMacros:  make(map[string]string),
		addArgs:    make(map[string]string),
		dirty:      true,
	}
}

// noReplyTo reports whether the MTA expects no reply to command cmd on this connection: its
// SMFIP_NR_* bit was offered by the MTA and granted in SMFIC_OPTNEG (milter-protocol-extras.txt).
func (cs *connState) noReplyTo(cmd byte) bool {
	bit := noReplyBit(cmd)
	return bit != 0 && cs.noReply&bit != 0
}

// noReplyBit is the SMFIP_NR_* bit that spares the reply to command cmd, 0 for commands that
// are always answered (SMFIC_OPTNEG, SMFIC_BODYEOB) or never (SMFIC_MACRO, SMFIC_ABORT, SMFIC_QUIT).
func noReplyBit(cmd byte) uint32 {
	switch cmd {
	case smficConnect:
		return smfipNRConn
	case smficHelo:
		return smfipNRHelo
	case smficMail:
		return smfipNRMail
	case smficRcpt:
		return smfipNRRcpt
	case smficData:
		return smfipNRData
	case smficUnknown:
		return smfipNRUnkn
	case smficHeader:
		return smfipNRHdr
	case smficEOH:
		return smfipNREOH
	case smficBody:
		return smfipNRBody
	}
	return 0
}

// beginMessage marks the connection busy; false when it is being drained (no new message).
func (cs *connState) beginMessage() bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closing {
		return false
	}
	cs.busy = true
	return true
}

// resetMessage forgets the message's ESMTP arguments, registrations, failure and counts. A
// bound its MAIL stage macros broke stays (endMessage forgets it).
func (cs *connState) resetMessage() {
	cs.mailArgs = nil
	cs.rcptArgs = nil
	clear(cs.addArgs)
	cs.failed = false
	cs.headerBytes, cs.rcpts = 0, 0
}

// endMessage forgets the message, its macros and the bound it broke included, and marks the
// connection idle.
func (cs *connState) endMessage() {
	cs.resetMessage()
	cs.clearMsgMacros()
	cs.msgLimit = ""
	cs.dirty = true
	cs.mu.Lock()
	cs.busy = false
	cs.mu.Unlock()
}

// drain asks the connection to close: at once when between messages (a past read deadline
// wakes its goroutine), else after the message's final reply.
func (cs *connState) drain() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.closing = true
	if !cs.busy {
		cs.conn.SetReadDeadline(time.Now())
	}
}

// stopping reports whether the connection must close now: drained and between messages.
func (cs *connState) stopping() bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.closing && !cs.busy
}

func (cs *connState) isBusy() bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.busy
}

func (cs *connState) isClosing() bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.closing
}

// registerAddRcpt sets the ESMTP arguments the next SMFIR_ADDRCPT of addr is sent with.
func (cs *connState) registerAddRcpt(addr, args string) {
	if args != "" {
		cs.addArgs[addr] = args
	}
}
