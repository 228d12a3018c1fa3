package main

import (
	"encoding/binary"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	gomilter "github.com/emersion/go-milter"
)

// TestNegotiation speaks the milter protocol to the floor as Postfix does, once offering the
// no-reply steps and once not: the floor must grant exactly the wanted steps the MTA offers,
// answer everything else, and answer nothing it was spared, or the stream goes out of step
// (the reply read at end of message would not be its accept).
func TestNegotiation(t *testing.T) {
	all := uint32(gomilter.OptNoConnect | gomilter.OptNoHelo | gomilter.OptNoMailFrom | gomilter.OptNoRcptTo |
		gomilter.OptNoBody | gomilter.OptNoHeaders | gomilter.OptNoEOH | gomilter.OptNoUnknown | gomilter.OptNoData |
		gomilter.OptHeaderLeadingSpace)
	tests := []struct {
		name      string
		offered   uint32
		wantSteps uint32 // SMFIP_NR_* granted
	}{
		{"no-reply offered", all | nrAll, optNoReply},
		{"no-reply not offered", all, 0},
		{"only headers offered", all | uint32(gomilter.OptNoHeaderReply), uint32(gomilter.OptNoHeaderReply)},
		{"as Postfix: skip and no-reply offered", all | nrAll | uint32(gomilter.OptSkip), optNoReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "m.sock")
			l, err := net.Listen("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			srv := newServer()
			go srv.Serve(listener{l})
			defer srv.Close()
			c, err := net.Dial("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))

			send := func(cmd byte, data ...byte) {
				t.Helper()
				p := binary.BigEndian.AppendUint32(nil, uint32(1+len(data)))
				if _, err := c.Write(append(append(p, cmd), data...)); err != nil {
					t.Fatal(err)
				}
			}
			recv := func() (byte, []byte) {
				t.Helper()
				var hdr [4]byte
				if _, err := io.ReadFull(c, hdr[:]); err != nil {
					t.Fatal(err)
				}
				b := make([]byte, binary.BigEndian.Uint32(hdr[:]))
				if _, err := io.ReadFull(c, b); err != nil {
					t.Fatal(err)
				}
				return b[0], b[1:]
			}
			expect := func(what string, bit uint32, want byte) {
				t.Helper()
				if tt.wantSteps&bit != 0 {
					return // spared: the next reply read belongs to a later command
				}
				if cmd, _ := recv(); cmd != want {
					t.Fatalf("%s: reply %q, want %q", what, cmd, want)
				}
			}

			optneg := binary.BigEndian.AppendUint32(nil, 6)
			optneg = binary.BigEndian.AppendUint32(optneg, 0x1ff)
			optneg = binary.BigEndian.AppendUint32(optneg, tt.offered)
			send(smficOptneg, optneg...)
			cmd, data := recv()
			if cmd != smficOptneg || len(data) < 12 {
				t.Fatalf("negotiation reply %q %x", cmd, data)
			}
			if got := binary.BigEndian.Uint32(data[4:8]); got != uint32(optActions) {
				t.Errorf("actions %#x, want %#x", got, uint32(optActions))
			}
			skip := tt.offered&uint32(gomilter.OptSkip) != 0
			wantProto := uint32(optProtocol) | tt.wantSteps
			if !skip {
				wantProto = wantProto&^uint32(gomilter.OptSkip) | uint32(gomilter.OptNoBody)
			}
			if got := binary.BigEndian.Uint32(data[8:12]); got != wantProto {
				t.Errorf("protocol steps %#x, want %#x", got, wantProto)
			}
			for msg := range 2 { // two messages on one connection
				if msg == 0 {
					send(smficConnect, append([]byte("client\x004"), 0, 25, '1', '2', '7', '.', '0', '.', '0', '.', '1', 0)...)
					expect("connect", uint32(gomilter.OptNoConnReply), smfirCont)
				}
				send('D', append([]byte{smficMail}, "i\x00ABC123\x00"...)...)
				send(smficMail, []byte("<a@example.org>\x00")...)
				expect("MAIL", uint32(gomilter.OptNoMailReply), smfirCont)
				send('R', []byte("<b@example.org>\x00")...)
				expect("RCPT", 0, smfirCont)
				for _, h := range []string{"From\x00 a@example.org\x00", "To\x00 b@example.org\x00"} {
					send(smficHeader, []byte(h)...)
					expect("header", uint32(gomilter.OptNoHeaderReply), smfirCont)
				}
				if skip {
					send('B', []byte("Hello\r\n")...)
					expect("body chunk", 0, smfirSkip)
				}
				send('E')
				expect("end of message", 0, 'a')
			}
			send('Q')
		})
	}
}
