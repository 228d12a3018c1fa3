package milter

import (
	"bufio"
	"encoding/binary"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/milter/decide"
)

// countingConn counts the system calls (Write calls) the wire layer makes towards the MTA.
type countingConn struct {
	net.Conn
	writes atomic.Int32
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// nrPair is a wireConn between a test acting as go-milter and an MTA whose packets are
// collected as they arrive.
type nrPair struct {
	t    *testing.T
	wc   *wireConn
	mta  net.Conn
	cc   *countingConn
	logs *logBuffer

	mu  sync.Mutex
	got []string // what the MTA received, rendered
	err error
}

func newNRPair(t *testing.T) *nrPair {
	t.Helper()
	return newNRPairOn(t, nil)
}

// newNRPairOn is newNRPair with a generation in service.
func newNRPairOn(t *testing.T, gen *decide.Generation) *nrPair {
	t.Helper()
	logs := &logBuffer{}
	srv := NewServer(ServerOptions{Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Generation: func() *decide.Generation { return gen }})
	mta, ours := net.Pipe()
	cc := &countingConn{Conn: ours}
	p := &nrPair{t: t, mta: mta, cc: cc, logs: logs}
	p.wc = &wireConn{Conn: cc, srv: srv, cs: srv.addConn(ours), r: bufio.NewReaderSize(ours, 64<<10)}
	t.Cleanup(func() { p.wc.Close(); mta.Close() })
	return p
}

// collect records what the MTA receives from now on.
func (p *nrPair) collect() {
	go func() {
		for {
			pk, err := readPktErr(p.mta)
			p.mu.Lock()
			if err != nil {
				p.err = err
				p.mu.Unlock()
				return
			}
			p.got = append(p.got, renderReply(pk))
			p.mu.Unlock()
		}
	}()
}

// command sends one MTA command and reads it (and any macros injected before it) as go-milter.
func (p *nrPair) command(cmd byte, data []byte) {
	p.t.Helper()
	mtaSend(p.t, p.mta, pkt{cmd, data})
	for {
		if got := readPkt(p.t, p.wc); got.cmd == cmd {
			return
		}
	}
}

// reply writes go-milter's packets, each with its own Write as go-milter does.
func (p *nrPair) reply(ps ...pkt) error {
	for _, pk := range ps {
		if _, err := p.wc.Write(pk.bytes()); err != nil {
			return err
		}
	}
	return nil
}

// received waits until the MTA has n packets and returns them.
func (p *nrPair) received(n int) []string {
	p.t.Helper()
	for range 500 {
		p.mu.Lock()
		got := append([]string(nil), p.got...)
		p.mu.Unlock()
		if len(got) >= n {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.t.Fatalf("the MTA got %q, want %d packets", p.got, n)
	return nil
}

// negotiate runs SMFIC_OPTNEG with the MTA offering steps, go-milter answering as it does for
// our Server (version 2, optActions, optProtocol); it returns the SMFIP_* steps the MTA got.
func (p *nrPair) negotiate(steps uint32) uint32 {
	p.t.Helper()
	p.command(smficOptneg, optnegPkt(0x1ff, steps).data)
	d := binary.BigEndian.AppendUint32(nil, 2)
	d = binary.BigEndian.AppendUint32(d, uint32(optActions))
	d = binary.BigEndian.AppendUint32(d, uint32(optProtocol))
	d = append(binary.BigEndian.AppendUint32(d, 5), "i\x00"...) // SMFIM_EOM macro list
	written := make(chan struct{})
	go func() { p.wc.Write(pkt{smficOptneg, d}.bytes()); close(written) }()
	reply := readPkt(p.t, p.mta)
	<-written
	p.cc.writes.Store(0)
	if reply.cmd != smficOptneg || len(reply.data) != len(d) || string(reply.data[12:]) != string(d[12:]) {
		p.t.Fatalf("SMFIC_OPTNEG reply %q %q, want go-milter's with its macro lists", reply.cmd, reply.data)
	}
	if v, a := binary.BigEndian.Uint32(reply.data), binary.BigEndian.Uint32(reply.data[4:]); v != 2 || a != uint32(optActions) {
		p.t.Errorf("SMFIC_OPTNEG reply: version %d actions %#x, want go-milter's", v, a)
	}
	p.collect()
	return binary.BigEndian.Uint32(reply.data[8:])
}

// TestWire_SMFIC_OPTNEG_BodyOnlyWithSkip: body chunks are negotiated only when the generation
// reads bodies and the MTA can skip them (SMFIP_SKIP); otherwise SMFIP_NOBODY.
func TestWire_SMFIC_OPTNEG_BodyOnlyWithSkip(t *testing.T) {
	reads := &decide.Generation{Options: decide.Options{CalendarOutbound: true}}
	noCalendar := &decide.Generation{Options: decide.Options{CalendarInbound: "never"}}
	tests := []struct {
		name     string
		gen      *decide.Generation
		offered  uint32
		wantBody bool
	}{
		{"calendar on, Postfix offers SMFIP_SKIP", reads, postfixEvents, true},
		{"calendar on, no SMFIP_SKIP offered", reads, postfixEvents &^ smfipSkip, false},
		{"calendar off", noCalendar, postfixEvents, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newNRPairOn(t, tc.gen)
			got := p.negotiate(tc.offered)
			if body := got&smfipNoBody == 0; body != tc.wantBody || (got&smfipSkip != 0) != tc.wantBody || p.wc.cs.body != tc.wantBody {
				t.Errorf("steps %#x (connection notes body %v), want body chunks %v with SMFIP_SKIP", got, p.wc.cs.body, tc.wantBody)
			}
		})
	}
}

func TestWire_SMFIC_OPTNEG_NoReplyStepsOnlyWhereOffered(t *testing.T) {
	tests := []struct {
		name    string
		offered uint32
		want    uint32 // the SMFIP_NR_* steps granted
	}{
		{"Postfix 3.7, milter_protocol = 6", postfixEvents, smfipNRConn | smfipNRMail | smfipNRHdr},
		{"milter_protocol = 2 (no SMFIP_NR_*)", 0x7f, 0},
		{"only SMFIP_NOHREPL", 0x7f | smfipNRHdr, smfipNRHdr},
		{"SMFIP_NR_RCPT offered, never taken", smfipNRRcpt | smfipNRMail, smfipNRMail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newNRPair(t)
			got := p.negotiate(tc.offered)
			if got&smfipNRAll != tc.want {
				t.Errorf("SMFIP_NR_* steps = %#x, want %#x", got&smfipNRAll, tc.want)
			}
			// No generation in service reads bodies here: no body chunks, nothing to skip.
			if want := uint32(optProtocol)&^smfipSkip | smfipNoBody; got&^smfipNRAll != want {
				t.Errorf("other steps = %#x, want %#x", got&^smfipNRAll, want)
			}
			if p.wc.cs.noReply != tc.want {
				t.Errorf("connection notes %#x as no-reply, want %#x", p.wc.cs.noReply, tc.want)
			}
		})
	}
}

// TestWire_NoReply swallows go-milter's SMFIR_CONTINUE to exactly the commands the MTA expects
// no reply to, passes every other reply on, and sends the end-of-message packets in one write.
func TestWire_NoReply(t *testing.T) {
	for _, offered := range []uint32{postfixEvents, 0x7f} {
		nr := offered == postfixEvents
		p := newNRPair(t)
		p.negotiate(offered)
		type step struct {
			cmd     byte
			data    []byte
			replies []pkt
			nr      bool // the MTA expects no reply
		}
		cont := pkt{smfirContinue, nil}
		steps := []step{
			{smficConnect, connectPkt("client.example", "192.0.2.1", 25).data, []pkt{cont}, nr},
			{smficMail, cstr("<a@example.org>"), []pkt{cont}, nr},
			{smficRcpt, cstr("<b@example.org>"), []pkt{cont}, false},
			{smficRcpt, cstr("<c@example.org>"), []pkt{{smfirReplyCode, cstr("550 5.7.1 no")}}, false},
			{smficHeader, cstr("From", " a@example.org"), []pkt{cont}, nr},
			{smficHeader, cstr("To", " b@example.org"), []pkt{cont}, nr},
			{smficEOH, nil, []pkt{cont}, false}, // not offered as no-reply here: answered
			{smficBodyEOB, nil, []pkt{
				{smfirDelRcpt, cstr("<b@example.org>")},
				{smfirAddRcpt, cstr("<d@example.org>")},
				{smfirChgHeader, append([]byte{0, 0, 0, 1}, cstr("To", " d@example.org")...)},
				{smfirAccept, nil},
			}, false},
		}
		want := 0
		for _, s := range steps {
			p.command(s.cmd, s.data)
			before := p.cc.writes.Load()
			if err := p.reply(s.replies...); err != nil {
				t.Fatalf("offered %#x: reply to %q: %v", offered, s.cmd, err)
			}
			wantWrites := int32(1)
			if s.nr {
				wantWrites = 0
			} else {
				want += len(s.replies)
			}
			if w := p.cc.writes.Load() - before; w != wantWrites {
				t.Errorf("offered %#x: %d writes to the MTA for the answer to %q, want %d", offered, w, s.cmd, wantWrites)
			}
		}
		got := p.received(want)
		end := []string{"SMFIR_DELRCPT <b@example.org>", "SMFIR_ADDRCPT <d@example.org>",
			`SMFIR_CHGHEADER To[1]=" d@example.org"`, "SMFIR_ACCEPT"}
		// RCPT, RCPT, EOH, end of message
		wantGot := append([]string{"SMFIR_CONTINUE", "SMFIR_REPLYCODE 550 5.7.1 no", "SMFIR_CONTINUE"}, end...)
		if !nr { // CONNECT, MAIL, RCPT, RCPT, HEADER, HEADER, EOH, end of message
			wantGot = append([]string{"SMFIR_CONTINUE", "SMFIR_CONTINUE", "SMFIR_CONTINUE", "SMFIR_REPLYCODE 550 5.7.1 no",
				"SMFIR_CONTINUE", "SMFIR_CONTINUE", "SMFIR_CONTINUE"}, end...)
		}
		if !reflect.DeepEqual(got, wantGot) {
			t.Errorf("offered %#x: the MTA got\n %q\nwant\n %q", offered, got, wantGot)
		}
	}
}

// TestWire_NoReply_OtherReplyIsAnError: anything but one bare SMFIR_CONTINUE to a command the
// MTA expects no reply to would be read as the answer to a later command. The wire layer
// refuses it (go-milter then closes the connection and the MTA applies
// milter_default_action) and says so in the log.
func TestWire_NoReply_OtherReplyIsAnError(t *testing.T) {
	tests := []struct {
		name    string
		cmd     byte
		replies []pkt
	}{
		{"tempfail at SMFIC_MAIL", smficMail, []pkt{{smfirTempfail, nil}}},
		{"reply code at SMFIC_HEADER", smficHeader, []pkt{{smfirReplyCode, cstr("451 4.3.0 x")}}},
		{"accept at SMFIC_CONNECT", smficConnect, []pkt{{smfirAccept, nil}}},
		{"modification at SMFIC_HEADER", smficHeader, []pkt{{smfirAddRcpt, cstr("<x@example.org>")}}},
		{"a second continue", smficHeader, []pkt{{smfirContinue, nil}, {smfirContinue, nil}}},
		{"continue with data", smficMail, []pkt{{smfirContinue, []byte{'x'}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newNRPair(t)
			p.negotiate(postfixEvents)
			data := cstr("<a@example.org>")
			if tc.cmd == smficConnect {
				data = connectPkt("client.example", "192.0.2.1", 25).data
			}
			p.command(tc.cmd, data)
			err := p.reply(tc.replies...)
			if err == nil || !strings.Contains(err.Error(), "expects no reply") {
				t.Fatalf("Write error = %v, want a no-reply protocol error", err)
			}
			if !strings.Contains(err.Error(), "milter protocol error") {
				t.Errorf("Write error = %v, want one that says it is a protocol error", err)
			}
			if p.cc.writes.Load() != 0 {
				t.Errorf("%d writes reached the MTA", p.cc.writes.Load())
			}
		})
	}
}

// TestWire_HeldPacketsBounded: modification requests wait for the final reply, but never more
// than maxPending bytes of them.
func TestWire_HeldPacketsBounded(t *testing.T) {
	p := newNRPair(t)
	p.negotiate(postfixEvents)
	p.command(smficBodyEOB, nil)
	value := " " + strings.Repeat("x", 1000)
	n := 0
	for p.cc.writes.Load() == 0 {
		if err := p.reply(pkt{smfirChgHeader, append([]byte{0, 0, 0, 1}, cstr("Subject", value)...)}); err != nil {
			t.Fatal(err)
		}
		n++
		if n*1000 > 2*maxPending {
			t.Fatalf("%d bytes held back", n*1000)
		}
	}
	if n*1015 < maxPending {
		t.Errorf("flushed after %d packets, before the %d bytes bound", n, maxPending)
	}
	p.received(n)
}
