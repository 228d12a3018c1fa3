package milter

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"
)

// pkt is one milter packet in a test: a command byte and its data.
type pkt struct {
	cmd  byte
	data []byte
}

func (p pkt) bytes() []byte { return appendPacket(nil, p.cmd, p.data) }

// cstr joins strings as NUL-terminated C strings.
func cstr(ss ...string) []byte { return appendCStrings(nil, ss...) }

// macroPkt is an SMFIC_MACRO for stage with name=value pairs.
func macroPkt(stage byte, kv ...string) pkt {
	return pkt{smficMacro, append([]byte{stage}, cstr(kv...)...)}
}

func optnegPkt(actions, protocol uint32) pkt {
	d := binary.BigEndian.AppendUint32(nil, 6)
	d = binary.BigEndian.AppendUint32(d, actions)
	return pkt{smficOptneg, binary.BigEndian.AppendUint32(d, protocol)}
}

func connectPkt(host, addr string, port uint16) pkt {
	d := append(cstr(host), '4')
	d = binary.BigEndian.AppendUint16(d, port)
	return pkt{smficConnect, append(d, cstr(addr)...)}
}

func readPkt(t *testing.T, r io.Reader) pkt {
	t.Helper()
	p, err := readPktErr(r)
	if err != nil {
		t.Fatalf("reading a packet: %v", err)
	}
	return p
}

func readPktErr(r io.Reader) (pkt, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return pkt{}, err
	}
	b := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(r, b); err != nil || len(b) == 0 {
		return pkt{}, fmt.Errorf("packet of %d bytes: %w", len(b), err)
	}
	return pkt{b[0], b[1:]}, nil
}

// macroMap decodes an SMFIC_MACRO packet's name/value pairs.
func macroMap(t *testing.T, p pkt) map[string]string {
	t.Helper()
	if p.cmd != smficMacro {
		t.Fatalf("got packet %q, want SMFIC_MACRO", p.cmd)
	}
	kv := cstrings(p.data[1:])
	if len(kv)%2 != 0 {
		t.Fatalf("SMFIC_MACRO with an odd number of strings: %q", kv)
	}
	m := make(map[string]string)
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// wirePair returns a wireConn over one end of a pipe (go-milter's side) and the other end (the
// MTA's side).
func wirePair(t *testing.T) (*Server, *wireConn, net.Conn) {
	t.Helper()
	srv := NewServer(ServerOptions{})
	mta, ours := net.Pipe()
	cs := srv.addConn(ours)
	wc := &wireConn{Conn: ours, srv: srv, cs: cs, r: bufio.NewReaderSize(ours, 64<<10)}
	t.Cleanup(func() { wc.Close(); mta.Close() })
	return srv, wc, mta
}

// mtaSend writes packets from the MTA side without blocking the test.
func mtaSend(t *testing.T, mta net.Conn, ps ...pkt) {
	t.Helper()
	var b []byte
	for _, p := range ps {
		b = append(b, p.bytes()...)
	}
	go func() { mta.Write(b) }()
}

func TestWire_SMFIC_MACRO_ConnectionMacrosSurviveMessages(t *testing.T) {
	_, wc, mta := wirePair(t)
	id := wc.cs.id
	conn := map[string]string{"{daemon_name}": "smtpd-tenant-a", "{client_addr}": "192.0.2.10"}

	mtaSend(t, mta,
		optnegPkt(0x1ff, 0x1fffff),
		macroPkt(smficConnect, "{daemon_name}", "smtpd-tenant-a", "{client_addr}", "192.0.2.10"),
		connectPkt("relay.example", "192.0.2.10", 2525),
		macroPkt(smficHelo, "{cert_subject}", "relay.tenanta.example"),
		macroPkt(smficMail, "{auth_authen}", ""),
		pkt{smficMail, cstr("<john@tenanta.example>", "SIZE=100", "BODY=8BITMIME")},
		macroPkt(smficRcpt, "{rcpt_addr}", "ann@example.org"),
		pkt{smficRcpt, cstr("<ann@example.org>", "NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;ann@example.org")},
		pkt{smficHeader, cstr("From", " John <john@tenanta.example>")},
		pkt{smficEOH, nil},
		macroPkt(smficBodyEOB, "i", "4ABC"),
		pkt{smficBodyEOB, nil},
	)

	if got := readPkt(t, wc); got.cmd != smficOptneg {
		t.Fatalf("first packet %q, want SMFIC_OPTNEG", got.cmd)
	}
	want := maps.Clone(conn)
	want[macroConnID] = id
	if got := macroMap(t, readPkt(t, wc)); !reflect.DeepEqual(got, want) {
		t.Errorf("macros before SMFIC_CONNECT = %v, want %v", got, want)
	}
	if got := readPkt(t, wc); got.cmd != smficConnect {
		t.Fatalf("got %q, want SMFIC_CONNECT", got.cmd)
	}
	want["{cert_subject}"] = "relay.tenanta.example"
	want["{auth_authen}"] = ""
	if got := macroMap(t, readPkt(t, wc)); !reflect.DeepEqual(got, want) {
		t.Errorf("macros before SMFIC_MAIL = %v, want %v", got, want)
	}
	if got := readPkt(t, wc); got.cmd != smficMail || !bytes.HasPrefix(got.data, []byte("<john@tenanta.example>\x00SIZE=100")) {
		t.Errorf("SMFIC_MAIL not passed on as it was: %q", got.data)
	}
	want["{rcpt_addr}"] = "ann@example.org"
	if got := macroMap(t, readPkt(t, wc)); !reflect.DeepEqual(got, want) {
		t.Errorf("macros before SMFIC_RCPT = %v, want %v", got, want)
	}
	for _, cmd := range []byte{smficRcpt, smficHeader, smficEOH} { // no macros changed before EOH
		if got := readPkt(t, wc); got.cmd != cmd {
			t.Fatalf("got %q, want %q", got.cmd, cmd)
		}
	}
	want["i"] = "4ABC"
	if got := macroMap(t, readPkt(t, wc)); !reflect.DeepEqual(got, want) {
		t.Errorf("macros before SMFIC_BODYEOB = %v, want %v", got, want)
	}
	if got := readPkt(t, wc); got.cmd != smficBodyEOB {
		t.Fatalf("got %q, want SMFIC_BODYEOB", got.cmd)
	}
	if !reflect.DeepEqual(wc.cs.mailArgs, []string{"SIZE=100", "BODY=8BITMIME"}) {
		t.Errorf("MAIL ESMTP args = %q", wc.cs.mailArgs)
	}
	wantArgs := []string{"NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;ann@example.org"}
	if !reflect.DeepEqual(wc.cs.rcptArgs, wantArgs) {
		t.Errorf("RCPT ESMTP args = %q, want %q", wc.cs.rcptArgs, wantArgs)
	}

	// The final reply ends the message; the next one sees the connection macros only.
	go readPktErr(mta)
	if _, err := wc.Write(pkt{smfirAccept, nil}.bytes()); err != nil {
		t.Fatal(err)
	}
	if wc.cs.rcptArgs != nil || wc.cs.mailArgs != nil {
		t.Errorf("message state kept after the final reply: %q %q", wc.cs.mailArgs, wc.cs.rcptArgs)
	}
	mtaSend(t, mta,
		macroPkt(smficMail, "{auth_authen}", "alice"),
		pkt{smficMail, cstr("<alice@tenanta.example>")},
	)
	want = maps.Clone(conn)
	want[macroConnID] = id
	want["{cert_subject}"] = "relay.tenanta.example"
	want["{auth_authen}"] = "alice"
	if got := macroMap(t, readPkt(t, wc)); !reflect.DeepEqual(got, want) {
		t.Errorf("second message: macros before SMFIC_MAIL = %v, want %v", got, want)
	}
}

func TestWire_SMFIC_ABORT_ResetsTheMessage(t *testing.T) {
	_, wc, mta := wirePair(t)
	mtaSend(t, mta,
		macroPkt(smficConnect, "{daemon_name}", "smtpd"),
		macroPkt(smficMail, "i", "Q1"),
		pkt{smficMail, cstr("<a@example.org>", "RET=HDRS")},
		pkt{smficRcpt, cstr("<b@example.org>", "NOTIFY=NEVER")},
		pkt{smficAbort, nil},
		pkt{smficMail, cstr("<c@example.org>")},
	)
	for _, cmd := range []byte{smficMacro, smficMail, smficRcpt, smficAbort} {
		if got := readPkt(t, wc); got.cmd != cmd {
			t.Fatalf("got %q, want %q", got.cmd, cmd)
		}
	}
	if wc.cs.rcptArgs != nil || wc.cs.mailArgs != nil || len(wc.cs.msgMacros) != 0 {
		t.Errorf("SMFIC_ABORT left message state: rcpt args %v mail args %v macros %v", wc.cs.rcptArgs, wc.cs.mailArgs, wc.cs.msgMacros)
	}
	// go-milter forgets its macros on SMFIC_ABORT: they are sent again before the next MAIL.
	want := map[string]string{"{daemon_name}": "smtpd", macroConnID: wc.cs.id}
	if got := macroMap(t, readPkt(t, wc)); !reflect.DeepEqual(got, want) {
		t.Errorf("macros after SMFIC_ABORT = %v, want %v", got, want)
	}
}

func TestWire_SMFIR_ADDRCPT_BecomesADDRCPT_PAR(t *testing.T) {
	tests := []struct {
		name     string
		offered  uint32
		register string // args registered for new@example.org
		want     pkt
	}{
		{"registered and offered", 0x1ff, "NOTIFY=DELAY ORCPT=rfc822;old+2Bx@example.org",
			pkt{smfirAddRcptPar, cstr("<new@example.org>", "NOTIFY=DELAY ORCPT=rfc822;old+2Bx@example.org")}},
		{"MTA without SMFIF_ADDRCPT_PAR", 0x3f, "NOTIFY=DELAY",
			pkt{smfirAddRcpt, cstr("<new@example.org>")}},
		{"nothing registered", 0x1ff, "",
			pkt{smfirAddRcpt, cstr("<new@example.org>")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, wc, mta := wirePair(t)
			wc.cs.offered = tc.offered
			wc.cs.registerAddRcpt("new@example.org", tc.register)
			go func() { // held back until the final reply, which the MTA waits for
				wc.Write(pkt{smfirAddRcpt, cstr("<new@example.org>")}.bytes())
				wc.Write(pkt{smfirAccept, nil}.bytes())
			}()
			if got := readPkt(t, mta); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("MTA got %q %q, want %q %q", got.cmd, got.data, tc.want.cmd, tc.want.data)
			}
			if got := readPkt(t, mta); got.cmd != smfirAccept {
				t.Errorf("MTA got %q after the recipient, want SMFIR_ACCEPT", got.cmd)
			}
		})
	}
}

func TestWire_ReplyWrittenInPieces(t *testing.T) {
	_, wc, mta := wirePair(t)
	value := " " + strings.Repeat("x", 10000) // go-milter's bufio.Writer splits packets over 4 KiB
	whole := pkt{'m', append(binary.BigEndian.AppendUint32(nil, 1), cstr("Subject", value)...)}.bytes()
	accept := pkt{smfirAccept, nil}.bytes()
	done := make(chan pkt)
	go func() {
		p, _ := readPktErr(mta)
		readPktErr(mta) // the SMFIR_ACCEPT that sent it on its way
		done <- p
	}()
	for _, part := range [][]byte{whole[:3], whole[3:4096], whole[4096:], accept[:2], accept[2:]} {
		if n, err := wc.Write(part); err != nil || n != len(part) {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	select {
	case got := <-done:
		if !bytes.Equal(got.bytes(), whole) {
			t.Errorf("MTA got a different packet (%d bytes, want %d)", len(got.bytes()), len(whole))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the packet never reached the MTA")
	}
}

func TestWire_BadPacketLength(t *testing.T) {
	for _, n := range []uint32{0, maxPacket + 1} {
		_, wc, mta := wirePair(t)
		go mta.Write(binary.BigEndian.AppendUint32(nil, n))
		if _, err := wc.Read(make([]byte, 16)); err == nil || errors.Is(err, io.EOF) {
			t.Errorf("length %d: Read error = %v, want a packet length error", n, err)
		}
	}
}

func TestParseEnvelope(t *testing.T) {
	tests := []struct {
		data     []byte
		wantAddr string
		wantArgs []string
	}{
		{cstr("<a@example.org>"), "a@example.org", nil},
		{cstr("<a@example.org>", "NOTIFY=SUCCESS", "ORCPT=rfc822;a@example.org"), "a@example.org", []string{"NOTIFY=SUCCESS", "ORCPT=rfc822;a@example.org"}},
		{cstr("<>", "RET=HDRS"), "", []string{"RET=HDRS"}},
		{[]byte("<unterminated@example.org>"), "unterminated@example.org", nil},
		{nil, "", nil},
	}
	for _, tc := range tests {
		addr, args := parseEnvelope(tc.data)
		if addr != tc.wantAddr || !reflect.DeepEqual(args, tc.wantArgs) {
			t.Errorf("parseEnvelope(%q) = %q, %q; want %q, %q", tc.data, addr, args, tc.wantAddr, tc.wantArgs)
		}
	}
}

func TestParseConnect(t *testing.T) {
	tests := []struct {
		data               []byte
		wantName, wantAddr string
	}{
		{connectPkt("mx.example.org", "192.0.2.1", 25).data, "mx.example.org", "192.0.2.1"},
		{append(cstr("local"), append([]byte{'L'}, cstr("/run/sock")...)...), "local", "/run/sock"},
		{append(cstr("unknown"), 'U'), "unknown", ""},
		{cstr("truncated"), "truncated", ""},
		{append(cstr("short"), '4', 0), "short", ""},
	}
	for _, tc := range tests {
		name, addr := parseConnect(tc.data)
		if name != tc.wantName || addr != tc.wantAddr {
			t.Errorf("parseConnect(%q) = %q, %q; want %q, %q", tc.data, name, addr, tc.wantName, tc.wantAddr)
		}
	}
}

// FuzzWireInbound feeds an arbitrary MTA byte stream through the wire layer: it must never
// panic, and what go-milter reads must be whole, well-formed packets.
func FuzzWireInbound(f *testing.F) {
	var seed []byte
	for _, p := range []pkt{
		optnegPkt(0x1ff, 0x1fffff),
		macroPkt(smficConnect, "{daemon_name}", "smtpd"),
		connectPkt("mx.example.org", "192.0.2.1", 25),
		macroPkt(smficMail, "i", "Q"),
		{smficMail, cstr("<a@example.org>", "SIZE=1")},
		{smficRcpt, cstr("<b@example.org>", "NOTIFY=NEVER")},
		{smficHeader, cstr("To", " b@example.org")},
		{smficEOH, nil}, {smficAbort, nil}, {smficBodyEOB, nil},
	} {
		seed = append(seed, p.bytes()...)
	}
	f.Add(seed)
	f.Add([]byte{0, 0, 0, 1, 'D'})
	f.Add([]byte{0, 0, 0, 2, 'D', 'C', 0, 0, 0, 3, 'C', 'x', 0})
	f.Fuzz(func(t *testing.T, stream []byte) {
		srv := NewServer(ServerOptions{})
		cs := srv.addConn(nil)
		wc := &wireConn{srv: srv, cs: cs, r: bufio.NewReader(bytes.NewReader(stream))}
		out, err := io.ReadAll(wc)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "out of range") {
			t.Fatalf("unexpected error %v", err)
		}
		for len(out) > 0 {
			if len(out) < 5 {
				t.Fatalf("go-milter would read a torn packet header: %q", out)
			}
			n := int(binary.BigEndian.Uint32(out))
			if n < 1 || n > len(out)-4 {
				t.Fatalf("go-milter would read a bad packet length %d of %d bytes", n, len(out)-4)
			}
			out = out[4+n:]
		}
	})
}
