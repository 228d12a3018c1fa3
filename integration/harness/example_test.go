package harness_test

import (
	"fmt"
	"log"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// A demo or benchmark (no testing.T): a sink, a Postfix relaying to it with a milter in
// smtpd_milters, one message, what arrived. Tests use NewSink and NewPostfix instead.
func ExampleStartPostfix() {
	sink, err := harness.StartSink()
	if err != nil {
		log.Fatal(err)
	}
	defer sink.Close()
	pf, err := harness.StartPostfix(harness.PostfixOptions{
		Name:     "demo",
		RelayTo:  sink.Addr(),
		Services: []harness.Service{{Name: "smtpd-tenant-a"}}, // {daemon_name} of its own listener
		Milters:  []string{"inet:127.0.0.1:9754"},
		MilterMacros: map[string]string{
			"connect": "j {daemon_name} {client_addr} {client_name}",
			"helo":    "{tls_version} {cert_subject} {cert_issuer}",
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer pf.Stop()
	res, err := harness.Send(pf.ServiceAddr("smtpd-tenant-a"), harness.Envelope{
		LocalAddr: "127.0.0.5",
		From:      "john@tenanta.contoso.com",
		Rcpts:     []harness.RcptTo{{Addr: "bob@example.net", Notify: "SUCCESS,FAILURE", ORCPT: "rfc822;bob@example.net"}},
		Data:      harness.BuildMessage([]string{"From: John <john@tenanta.contoso.com>", "To: bob@example.net", "Subject: hi"}, "Hello\n"),
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := res.Err(); err != nil {
		log.Fatal(err) // e.g. "MAIL FROM refused: SMTP error 451: Service unavailable..."
	}
	msgs, err := sink.WaitFor(1, 10*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(msgs[0])                                // <john@contoso.com> SIZE=.. -> <bob@example.net> ORCPT=.. NOTIFY=..
	fmt.Println(msgs[0].Header().Get("From"))           // as the milter left it, bytes kept
	fmt.Println(res.QueueID, pf.Log() != "", len(msgs)) // queue ID for the log, maillog, count
}
