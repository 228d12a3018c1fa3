// Package harness runs edgerewrite end to end: a throwaway Postfix instance on 127.0.0.1
// (own main.cf, master.cf, queue, data and log directories under one temporary directory), a
// recording SMTP sink that keeps every delivered envelope with its ESMTP parameters exactly as
// received, an SMTP client that can send any MAIL/RCPT parameter (RET, ENVID, NOTIFY, ORCPT) from
// a chosen 127.0.0.x address with STARTTLS and a client certificate, a test certificate authority,
// header-preserving message helpers, and the edgerewrite daemon as a subprocess.
//
// It is an ordinary package so that the end-to-end tests, the demo (go run ./integration/demo)
// and the load benchmark (go run ./integration/bench) share it. Every Start* function returns an
// error; the testing.TB wrappers (NewPostfix, NewSink, NewEdgerewrite) fail the test instead and
// register the clean-up. Postfix must run as root (see CheckPostfix and RequirePostfix).
//
// Facts about throwaway Postfix instances this package relies on are in
// ../shared/notes/postfix-test-instance.md.
package harness
