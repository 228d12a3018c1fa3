package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/edgerewrite/edgerewrite/milter/config"
	"github.com/edgerewrite/edgerewrite/milter/decide"

	"github.com/edgerewrite/edgerewrite/policy"
	"github.com/edgerewrite/edgerewrite/rewrite"
)

const testUsageNotes = `
The message is decided exactly as the daemon decides it, from the config and the rules on
disk: direction, connector and tenant; each recipient's verdict (relay protection,
authoritative domains, cutover defer/hold); the message's verdict; then the envelope and each
header before -> after, with the rule (file:line) behind every rewrite, and the milter actions.

Without --from, the envelope sender is the message's Return-Path or first From address; without
--rcpt, the recipients are its To, Cc and Bcc addresses. --from "" (or "<>") is the null sender.
A recipient may carry its RCPT TO parameters: --rcpt "bob@contoso.com NOTIFY=SUCCESS,FAILURE".

Exit codes: 0 the message would be accepted (also in observe mode); 2 the message or a
recipient would be refused, deferred or held; 1 a bad config or rule; 64 a bad command line.

Examples:
  edgerewrite test --daemon-name smtpd-tenants --cert-subject relay.tenanta.contoso.com \
      --from john@tenanta.contoso.com --rcpt bob@fabrikam.com \
      --header "From: John <john@tenanta.contoso.com>" --header "To: bob@fabrikam.com"
  edgerewrite test --client-addr 203.0.113.5 --message received.eml
`

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ", ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// testArgs are the flags of `edgerewrite test`.
type testArgs struct {
	cfg                                                                    string
	clientAddr, clientName, daemonName, certSubject, certIssuer, saslLogin string
	from, message, now                                                     string
	fromSet                                                                bool
	rcpts, headers                                                         listFlag
}

func testFlags(fs *flag.FlagSet) func(stdout, stderr io.Writer) int {
	a := &testArgs{}
	fs.StringVar(&a.cfg, "c", config.DefaultConfigPath, "the config `file`")
	fs.StringVar(&a.clientAddr, "client-addr", "", "the SMTP client's `IP` address ({client_addr})")
	fs.StringVar(&a.clientName, "client-name", "", "the SMTP client's verified `hostname` ({client_name})")
	fs.StringVar(&a.daemonName, "daemon-name", "", "the Postfix smtpd service `name` ({daemon_name})")
	fs.StringVar(&a.certSubject, "cert-subject", "", "the verified TLS client certificate's `CN` ({cert_subject})")
	fs.StringVar(&a.certIssuer, "cert-issuer", "", "its issuer's `CN` ({cert_issuer})")
	fs.StringVar(&a.saslLogin, "sasl-login", "", "the SASL `login` ({auth_authen})")
	fs.StringVar(&a.from, "from", "", "the envelope `sender` (MAIL FROM)")
	fs.Var(&a.rcpts, "rcpt", "an envelope `recipient` (RCPT TO), with optional parameters; repeat for more")
	fs.Var(&a.headers, "header", "a header field `\"Name: value\"`; repeat for more")
	fs.StringVar(&a.message, "message", "", "a whole RFC 5322 message `file` whose header is used (- is standard input)")
	fs.StringVar(&a.now, "now", "", "decide as at this `time` (RFC 3339), for cutover windows; default now")
	return func(stdout, stderr io.Writer) int {
		fs.Visit(func(f *flag.Flag) { a.fromSet = a.fromSet || f.Name == "from" })
		return runTest(a, os.Stdin, stdout, stderr)
	}
}

// runTest is `edgerewrite test`.
func runTest(a *testArgs, stdin io.Reader, stdout, stderr io.Writer) int {
	in, notes, err := a.input(stdin)
	if err != nil {
		fmt.Fprintf(stderr, "edgerewrite test: %v\n", err)
		return exitUsage
	}
	now := time.Now()
	if a.now != "" {
		if now, err = time.Parse(time.RFC3339, a.now); err != nil {
			fmt.Fprintf(stderr, "edgerewrite test: --now %q: want RFC 3339, e.g. 2026-11-23T20:00:00Z\n", a.now)
			return exitUsage
		}
	}
	gen, err := decide.LoadGeneration(a.cfg)
	if err != nil {
		return report("edgerewrite test", stdout, stderr, config.Problems(err))
	}
	out := decide.Decide(gen, in, now)
	for _, n := range notes {
		fmt.Fprintf(stdout, "note: %s\n", n)
	}
	printOutcome(stdout, in, out)
	if out.Observe || out.Action() == policy.Accept && !anyRefused(out) {
		return exitOK
	}
	return exitRefused
}

func anyRefused(o decide.Outcome) bool {
	for _, r := range o.Rcpts {
		if r.Refused() {
			return true
		}
	}
	return false
}

// input builds the decision input from the flags and the message, with notes on what was
// taken from the message.
// maxTestBody bounds the body `test --message` reads for calendar data: past the largest
// calendar_max_bytes a message can be decided on, so the limit in the config decides.
const maxTestBody = 1<<30 + 1

func (a *testArgs) input(stdin io.Reader) (decide.Input, []string, error) {
	var in decide.Input
	var notes []string
	if a.clientAddr != "" {
		ip, err := netip.ParseAddr(a.clientAddr)
		if err != nil {
			return in, nil, fmt.Errorf("--client-addr %q is not an IP address", a.clientAddr)
		}
		in.Conn.Addr = ip.Unmap()
	}
	in.Conn.Name, in.Conn.DaemonName, in.Conn.AuthLogin = a.clientName, a.daemonName, a.saslLogin
	in.Conn.CertSubject, in.Conn.CertIssuer = a.certSubject, a.certIssuer
	if a.message != "" {
		hs, body, err := readMessage(a.message, stdin, maxTestBody)
		if err != nil {
			return in, nil, err
		}
		in.Headers, in.Body = hs, body
	}
	for _, h := range a.headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || !validFieldName(name) {
			return in, nil, fmt.Errorf("--header %q: want \"Name: value\"", h)
		}
		in.Headers = append(in.Headers, rewrite.Header{Name: name, Value: value})
	}
	switch {
	case a.fromSet:
		in.From = bareAddr(a.from)
	case len(in.Headers) > 0:
		if f, field := envelopeFrom(in.Headers); field != "" {
			in.From = f
			notes = append(notes, fmt.Sprintf("envelope sender <%s> taken from %s (use --from to set it)", f, field))
		}
	}
	if !a.fromSet && in.From == "" {
		return in, nil, errors.New("no envelope sender: give --from (--from \"\" is the null sender) or a message with a From header")
	}
	for _, r := range a.rcpts {
		fields := strings.Fields(r)
		if len(fields) == 0 {
			return in, nil, fmt.Errorf("--rcpt %q: no address", r)
		}
		in.Rcpts = append(in.Rcpts, decide.Rcpt{Addr: bareAddr(fields[0]), Args: fields[1:]})
	}
	if len(in.Rcpts) == 0 {
		for _, h := range in.Headers {
			if n := strings.ToLower(h.Name); n == "to" || n == "cc" || n == "bcc" {
				for _, addr := range headerAddrs(h.Value) {
					in.Rcpts = append(in.Rcpts, decide.Rcpt{Addr: addr})
				}
			}
		}
		if len(in.Rcpts) == 0 {
			return in, nil, errors.New("no recipient: give --rcpt, or a message with To, Cc or Bcc")
		}
		notes = append(notes, "envelope recipients taken from To, Cc and Bcc (use --rcpt to set them)")
	}
	return in, notes, nil
}

// bareAddr strips angle brackets: "<john@contoso.com>" -> "john@contoso.com", "<>" -> "".
func bareAddr(s string) string {
	s = strings.TrimSpace(s)
	return strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">")
}

// envelopeFrom guesses the envelope sender from Return-Path, else the first From address.
func envelopeFrom(hs []rewrite.Header) (addr, field string) {
	for _, want := range []string{"Return-Path", "From"} {
		for _, h := range hs {
			if !strings.EqualFold(h.Name, want) {
				continue
			}
			if want == "Return-Path" {
				return bareAddr(h.Value), h.Name
			}
			if as := headerAddrs(h.Value); len(as) > 0 {
				return as[0], h.Name
			}
		}
	}
	return "", ""
}

// headerAddrs lists the addr-specs of an address-list field value.
func headerAddrs(value string) []string {
	var addrs []string
	_, _ = rewrite.RewriteAddressList(value, func(addr string) (string, bool) {
		addrs = append(addrs, addr)
		return addr, false
	})
	return addrs
}

// validFieldName: RFC 5322 §2.2, printable US-ASCII (33-126) except colon, at least one.
func validFieldName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}
