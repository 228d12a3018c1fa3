package milter

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	gomilter "github.com/emersion/go-milter"

	"github.com/edgerewrite/edgerewrite/milter/config"
	"github.com/edgerewrite/edgerewrite/milter/decide"
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("milter: server shut down")

// ServerOptions wire a Server to the rest of the daemon. Generation is called once per
// message (at MAIL FROM), so a reload that swaps what it returns takes effect with the next
// message while messages in flight finish on the generation they started with.
type ServerOptions struct {
	// Generation returns the generation in service (config, policy and rules). nil tempfails
	// messages: the daemon never guesses.
	Generation func() *decide.Generation
	// Logger receives the one line per message; nil discards.
	Logger *slog.Logger
	// Metrics are updated per message; nil creates unregistered metrics.
	Metrics *Metrics
	// Clock returns the time used for policy windows and latency; nil is time.Now.
	Clock func() time.Time
	// Limits bound what one milter client can make the Server hold; settings not set are
	// their defaults.
	Limits config.Limits
}

// Server is the milter daemon: go-milter serving connections through edgerewrite's wire layer
// (wire.go), one session per message. Create it with NewServer.
type Server struct {
	gen     func() *decide.Generation
	log     *slog.Logger
	metrics *Metrics
	clock   func() time.Time
	noReply uint32    // SMFIP_NR_* steps granted when the MTA offers them (optNoReply)
	readers sync.Pool // *bufio.Reader of closed connections, 16 KiB each

	limits      config.Limits // with defaults
	readTimeout time.Duration
	refusing    atomic.Int32  // connections over max_connections being answered
	unoffered   atomic.Uint32 // SMFIF_* actions not offered whose drop was logged

	mu        sync.Mutex
	nextID    uint64
	conns     map[string]*connState // live milter connections by id ({edgerewrite_conn})
	listeners map[net.Listener]struct{}
	closing   bool
	drained   chan struct{} // closed when closing and no connection is left
}

// NewServer returns a Server ready to Serve.
func NewServer(opts ServerOptions) *Server {
	s := &Server{
		gen:       opts.Generation,
		log:       opts.Logger,
		metrics:   opts.Metrics,
		clock:     opts.Clock,
		noReply:   uint32(optNoReply),
		limits:    opts.Limits.WithDefaults(),
		conns:     make(map[string]*connState),
		listeners: make(map[net.Listener]struct{}),
		drained:   make(chan struct{}),
	}
	if s.gen == nil {
		s.gen = func() *decide.Generation { return nil }
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.metrics == nil {
		s.metrics = NewMetrics(nil)
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	s.readTimeout = s.limits.Timeout()
	return s
}

// wantsBodies reports whether the generation in service reads message bodies at all. It runs in
// the wire layer, outside the session's recovery, so a panic here only means "no bodies".
func (s *Server) wantsBodies() (yes bool) {
	defer func() {
		if v := recover(); v != nil {
			s.metrics.Panics.Inc()
			s.log.Error("panic while negotiating; this connection reads no bodies", "panic", v)
			yes = false
		}
	}()
	g := s.gen()
	return g != nil && g.WantsBodies()
}

// reader returns a buffered reader of the MTA's connection c, reusing a closed connection's.
func (s *Server) reader(c net.Conn) *bufio.Reader {
	if r, ok := s.readers.Get().(*bufio.Reader); ok {
		r.Reset(c)
		return r
	}
	return bufio.NewReaderSize(c, 16<<10)
}

// optActions are the milter actions edgerewrite asks the MTA for in option negotiation
// (SMFIC_OPTNEG): change sender, add/delete recipients (with ESMTP args), change and add
// headers (the wave hold header), replace the body (calendar data), quarantine, and choose the
// macros sent per stage.
const optActions = gomilter.OptChangeFrom | gomilter.OptAddRcpt | gomilter.OptAddRcptWithArgs |
	gomilter.OptRemoveRcpt | gomilter.OptChangeHeader | gomilter.OptAddHeader | gomilter.OptQuarantine |
	gomilter.OptSetSymList | gomilter.OptChangeBody

// optProtocol are the protocol steps negotiated: no HELO, end of header, DATA or unknown
// commands (the session needs none of them), header values with their leading space
// (SMFIP_HDR_LEADSPC) so that unchanged bytes stay unchanged and changed values go back
// verbatim, and body chunks with SMFIP_SKIP, so the session reads the body only of a message
// that may hold calendar data. The wire layer turns the body off (SMFIP_NOBODY) per connection
// when the MTA cannot skip or the generation in service reads no bodies (wireConn.negotiate).
const optProtocol = gomilter.OptNoHelo | gomilter.OptNoEOH | gomilter.OptNoData |
	gomilter.OptNoUnknown | gomilter.OptHeaderLeadingSpace | gomilter.OptSkip

// optNoReply are the no-reply steps (SMFIP_NR_*) taken when the MTA offers them: the session
// never refuses at SMFIC_CONNECT, SMFIC_MAIL or SMFIC_HEADER (its refusals come at SMFIC_RCPT
// and end of message), so the MTA need not wait there, and sends the headers back to back.
// go-milter v0.5.0 answers every command whatever was negotiated, so the wire layer grants
// these per connection, only those the MTA offered (wireConn.negotiate), and swallows
// go-milter's SMFIR_CONTINUE to them; the session leaves it out where it can (session.pass).
const optNoReply = gomilter.OptNoConnReply | gomilter.OptNoMailReply | gomilter.OptNoHeaderReply

// symList are the macros requested per stage (SMFIF_SETSYMLIST). Postfix sends each stage's
// list before the stage's event (before each header, the end-of-header list), or main.cf's
// milter_*_macros for a stage not listed here. Connection facts are asked for again at MAIL
// because TLS and SASL may happen after the connect and HELO stages. The other stages ask
// only for the queue ID: it does not change within a message, so the wire layer, which passes
// macros on only when they changed, has nothing to pass on for them.
func symList() map[gomilter.Stage][]string {
	return map[gomilter.Stage][]string{
		gomilter.StageConnect:  {"{daemon_name}", "{client_addr}", "{client_name}"},
		gomilter.StageHelo:     {"{cert_subject}", "{cert_issuer}", "{tls_version}"},
		gomilter.StageMailFrom: {"i", "{auth_authen}", "{cert_subject}", "{cert_issuer}", "{daemon_name}"},
		gomilter.StageRcptTo:   {"i"},
		gomilter.StageData:     {"i"},
		gomilter.StageEOH:      {"i"},
		gomilter.StageEOM:      {"i"},
	}
}

// Serve accepts milter connections on l until Shutdown (it then returns ErrServerClosed) or
// until l fails for good. It may be called for several listeners.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()

	gm := &gomilter.Server{
		NewMilter: func() gomilter.Milter { return newSession(s) },
		Actions:   optActions,
		Protocol:  optProtocol,
		SymList:   symList(),
	}
	err := gm.Serve(&wireListener{Listener: l, srv: s})

	s.mu.Lock()
	delete(s.listeners, l)
	closing := s.closing
	s.mu.Unlock()
	if closing {
		return ErrServerClosed
	}
	return err
}

// Shutdown stops accepting connections and drains the live ones: a connection between messages
// is closed at once, one inside a message right after that message's final reply. It returns
// nil when every connection is gone, or ctx's error after closing the remaining ones (Postfix
// then applies milter_default_action to their messages).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for l := range s.listeners {
		l.Close()
	}
	for _, cs := range s.conns {
		cs.drain()
	}
	s.checkDrainedLocked()
	s.mu.Unlock()

	select {
	case <-s.drained:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for _, cs := range s.conns {
			cs.conn.Close()
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}

// Active returns the number of live milter connections.
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// addConn registers a new connection's state and returns it, or nil while shutting down or
// when max_connections are served already (isClosing tells which).
func (s *Server) addConn(c net.Conn) *connState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || len(s.conns) >= s.limits.MaxConnections {
		return nil
	}
	s.nextID++
	cs := newConnState(strconv.FormatUint(s.nextID, 10), c)
	s.conns[cs.id] = cs
	s.metrics.SessionsActive.Inc()
	return cs
}

// removeConn forgets a closed connection.
func (s *Server) removeConn(cs *connState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[cs.id]; !ok {
		return
	}
	delete(s.conns, cs.id)
	s.metrics.SessionsActive.Dec()
	s.checkDrainedLocked()
}

// lookupConn returns the state of the live connection with that id ({edgerewrite_conn}).
func (s *Server) lookupConn(id string) *connState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns[id]
}

func (s *Server) checkDrainedLocked() {
	if !s.closing || len(s.conns) > 0 {
		return
	}
	select {
	case <-s.drained:
	default:
		close(s.drained)
	}
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}
