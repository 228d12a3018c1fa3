// Command passthrough is the benchmark's floor, configuration (e): a milter on go-milter that
// negotiates exactly what edgerewrite negotiates and answers every event without doing any
// work. What it costs per message is what any milter on this library and this protocol
// negotiation costs; whatever edgerewrite spends above it is edgerewrite's own.
//
//	passthrough serve -c edgerewrite.toml
//
// It takes the same command line and config file as `edgerewrite serve` so the bench driver
// runs both the same way, and reads only the listen key of the file. It exits 0 on SIGTERM.
//
// It deliberately does not import edgerewrite's milter package: the floor must not carry any
// of the code being measured. The few protocol constants it needs are spelled out here.
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/textproto"
	"os"
	"os/signal"
	"strings"
	"syscall"

	gomilter "github.com/emersion/go-milter"
	"github.com/pelletier/go-toml/v2"
)

// The negotiation, identical to edgerewrite's (milter/server.go): its actions, its protocol
// steps (no HELO, end of header, DATA or unknown; header values with their leading space; body
// chunks with SMFIP_SKIP where the MTA offers it, else no body), its macro lists, and the
// no-reply steps for connect, MAIL and headers, granted where the MTA offers them.
const (
	optActions = gomilter.OptChangeFrom | gomilter.OptAddRcpt | gomilter.OptAddRcptWithArgs |
		gomilter.OptRemoveRcpt | gomilter.OptChangeHeader | gomilter.OptAddHeader | gomilter.OptQuarantine |
		gomilter.OptSetSymList | gomilter.OptChangeBody
	optProtocol = gomilter.OptNoHelo | gomilter.OptNoEOH | gomilter.OptNoData |
		gomilter.OptNoUnknown | gomilter.OptHeaderLeadingSpace | gomilter.OptSkip
	optNoReply = uint32(gomilter.OptNoConnReply | gomilter.OptNoMailReply | gomilter.OptNoHeaderReply)
)

var symList = map[gomilter.Stage][]string{
	gomilter.StageConnect:  {"{daemon_name}", "{client_addr}", "{client_name}"},
	gomilter.StageHelo:     {"{cert_subject}", "{cert_issuer}", "{tls_version}"},
	gomilter.StageMailFrom: {"i", "{auth_authen}", "{cert_subject}", "{cert_issuer}", "{daemon_name}"},
	gomilter.StageRcptTo:   {"i"},
	gomilter.StageData:     {"i"},
	gomilter.StageEOH:      {"i"},
	gomilter.StageEOM:      {"i"},
}

// Milter protocol codes (milter-protocol.txt).
const (
	smficConnect = 'C'
	smficHeader  = 'L'
	smficMail    = 'M'
	smficOptneg  = 'O'
	smfirCont    = 'c'
	smfirSkip    = 's'

	// nrAll are all SMFIP_NR_* bits (milter-protocol-extras.txt): SMFIP_NR_HDR and
	// SMFIP_NR_CONN through SMFIP_NR_BODY.
	nrAll = 1<<7 | 0xff<<12
	// maxPacket bounds a packet, as go-milter does.
	maxPacket = 1 << 20
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "passthrough:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 || args[0] != "serve" {
		return errors.New("usage: passthrough serve -c CONFIG")
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfgPath := fs.String("c", "", "config file (only listen is read)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	raw, err := os.ReadFile(*cfgPath)
	if err != nil {
		return err
	}
	var cfg struct {
		Listen string `toml:"listen"`
	}
	if err := toml.Unmarshal(raw, &cfg); err != nil {
		return fmt.Errorf("%s: %w", *cfgPath, err)
	}
	network, addr, ok := strings.Cut(cfg.Listen, ":")
	if network == "inet" {
		network = "tcp"
	}
	if !ok || network != "tcp" && network != "unix" {
		return fmt.Errorf("%s: listen %q is not inet:HOST:PORT or unix:PATH", *cfgPath, cfg.Listen)
	}
	if network == "unix" {
		_ = os.Remove(addr)
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		return err
	}
	if network == "unix" {
		// Postfix's smtpd connects as user postfix.
		if err := os.Chmod(addr, 0o666); err != nil {
			return err
		}
	}
	// go-milter logs through the standard logger; its messages are errors.
	log.SetPrefix("level=ERROR passthrough: ")

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	srv := newServer()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(listener{l}) }()
	select {
	case <-stop:
		srv.Close()
		<-done
		return nil
	case err := <-done:
		return err
	}
}

// newServer is the pass-through milter; serve it on a listener{}.
func newServer() *gomilter.Server {
	return &gomilter.Server{
		NewMilter: func() gomilter.Milter { return floor{} },
		Actions:   optActions,
		Protocol:  optProtocol,
		SymList:   symList,
	}
}

// floor answers nothing where the MTA may expect no reply (connect, MAIL, headers: the
// connection answers those itself when the MTA did not grant the no-reply step, see
// conn.inbound), skips the body at its first chunk as edgerewrite does for mail that cannot
// hold calendar data, and continues everywhere else, accepting at end of message.
type floor struct{}

func (floor) Connect(string, string, uint16, net.IP, *gomilter.Modifier) (gomilter.Response, error) {
	return nil, nil
}
func (floor) Helo(string, *gomilter.Modifier) (gomilter.Response, error) {
	return gomilter.RespContinue, nil
}
func (floor) MailFrom(string, *gomilter.Modifier) (gomilter.Response, error) { return nil, nil }
func (floor) RcptTo(string, *gomilter.Modifier) (gomilter.Response, error) {
	return gomilter.RespContinue, nil
}
func (floor) Header(string, string, *gomilter.Modifier) (gomilter.Response, error) {
	return nil, nil
}
func (floor) Headers(textproto.MIMEHeader, *gomilter.Modifier) (gomilter.Response, error) {
	return gomilter.RespContinue, nil
}
func (floor) BodyChunk([]byte, *gomilter.Modifier) (gomilter.Response, error) {
	return respSkip, nil
}

// respSkip is SMFIR_SKIP, which go-milter v0.5.0 has no ready response for. A body chunk comes
// only where the MTA can skip (conn.Write negotiates no body otherwise).
var respSkip = gomilter.NewResponse(smfirSkip, nil)

func (floor) Body(*gomilter.Modifier) (gomilter.Response, error) { return gomilter.RespAccept, nil }
func (floor) Abort(*gomilter.Modifier) error                     { return nil }

// listener hands go-milter conns.
type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c, r: bufio.NewReaderSize(c, 16<<10)}, nil
}

// conn is the least a milter on go-milter v0.5.0 needs to negotiate no-reply steps, as
// edgerewrite's wire layer does: it notes the steps the MTA offers, grants the wanted ones
// in go-milter's SMFIC_OPTNEG reply, and answers SMFIC_CONNECT, SMFIC_MAIL and SMFIC_HEADER
// itself when their step was not granted (floor never answers them). Reads are buffered, as
// edgerewrite's are, so that headers sent back to back come in one system call.
type conn struct {
	net.Conn
	r *bufio.Reader

	offered uint32 // SMFIP_* steps of the MTA's SMFIC_OPTNEG
	granted uint32 // SMFIP_NR_* steps granted
	in      []byte // the current inbound packet, for go-milter
	inOff   int
}

func (c *conn) Read(p []byte) (int, error) {
	if c.inOff >= len(c.in) {
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.in[c.inOff:])
	c.inOff += n
	return n, nil
}

// fill reads one packet and answers it if floor will not.
func (c *conn) fill() error {
	var hdr [4]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > maxPacket {
		return fmt.Errorf("packet length %d out of range", n)
	}
	if cap(c.in) < 4+int(n) {
		c.in = make([]byte, 4+int(n))
	}
	c.in, c.inOff = c.in[:4+n], 0
	copy(c.in, hdr[:])
	if _, err := io.ReadFull(c.r, c.in[4:]); err != nil {
		return err
	}
	cmd, data := c.in[4], c.in[5:]
	var bit uint32
	switch cmd {
	case smficOptneg:
		if len(data) >= 12 {
			c.offered = binary.BigEndian.Uint32(data[8:12])
		}
		return nil
	case smficConnect:
		bit = uint32(gomilter.OptNoConnReply)
	case smficMail:
		bit = uint32(gomilter.OptNoMailReply)
	case smficHeader:
		bit = uint32(gomilter.OptNoHeaderReply)
	default:
		return nil
	}
	if c.granted&bit != 0 {
		return nil
	}
	_, err := c.Conn.Write([]byte{0, 0, 0, 1, smfirCont})
	return err
}

// Write passes go-milter's replies on, with the no-reply steps set in SMFIC_OPTNEG, and no body
// where the MTA cannot skip it. go-milter writes each reply with one Write.
func (c *conn) Write(p []byte) (int, error) {
	if len(p) >= 5+12 && p[4] == smficOptneg {
		c.granted = optNoReply & c.offered & nrAll
		proto := binary.BigEndian.Uint32(p[5+8:])&^nrAll | c.granted
		if c.offered&uint32(gomilter.OptSkip) == 0 {
			proto = proto&^uint32(gomilter.OptSkip) | uint32(gomilter.OptNoBody)
		}
		q := append([]byte(nil), p...)
		binary.BigEndian.PutUint32(q[5+8:], proto)
		if _, err := c.Conn.Write(q); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}
