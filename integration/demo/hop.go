package main

import (
	"strings"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// delivered is one message a sink accepted, in the form the demo prints.
type delivered struct {
	// Sink names where it arrived: "the Internet", "tenant A", "tenant B".
	Sink string
	// Mail is MAIL FROM as "<addr> PARAM=..."; Rcpts each RCPT TO likewise.
	Mail  string
	From  string
	Rcpts []string
	// RcptAddrs are the bare recipient addresses.
	RcptAddrs []string
	Header    harness.Header
	// Data is the message as received.
	Data []byte
	// ClientCN is the common name of the client certificate Postfix presented, verified with
	// the demo CA ("" if none).
	ClientCN string
}

// withParams is "<addr> P1 P2".
func withParams(addr string, params []string) string {
	return strings.Join(append([]string{"<" + addr + ">"}, params...), " ")
}

// fromHarness converts a message of a harness sink (the Internet's or a tenant's TLS one), keeping of the ESMTP parameters the DSN
// ones (RFC 3461: RET, ENVID, NOTIFY, ORCPT); SIZE and BODY say nothing about rewriting.
func fromHarness(sink string, m *harness.Message) *delivered {
	d := &delivered{Sink: sink, From: m.From, Header: m.Header(), Data: m.Data, Mail: withParams(m.From, dsnParams(m.MailParams)), ClientCN: m.ClientCN}
	for _, r := range m.Rcpts {
		d.Rcpts = append(d.Rcpts, withParams(r.Addr, dsnParams(r.Params)))
		d.RcptAddrs = append(d.RcptAddrs, r.Addr)
	}
	return d
}

// dsnParams are the DSN parameters among ps, as received.
func dsnParams(ps harness.Params) []string {
	var out []string
	for _, p := range ps {
		switch strings.ToUpper(p.Key) {
		case "RET", "ENVID", "NOTIFY", "ORCPT":
			out = append(out, harness.Params{p}.String())
		}
	}
	return out
}
