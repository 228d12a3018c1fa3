package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// verifyMessages is how many messages each instance sends through its dumping sink before
// the benchmark, to prove the configuration rewrites what it claims.
const verifyMessages = 3

// expectation is which side (internal or external domain) each address must have at the sink.
type expectation struct {
	sender, rcpts, from, replyTo, toCc string
	// calendar is the domain of every ORGANIZER and ATTENDEE of the meeting invitation's
	// calendar part; "" for the other messages, which have none.
	calendar string
}

// expected is what the sink must see for configuration c: (a) and (d) pass the message as
// sent; (b) and (c) rewrite every address of it (the message variants make To/Cc match).
func (c configuration) expected() expectation {
	switch {
	case c.Calendar:
		return expectation{sender: externalDomain, rcpts: internalDomain, from: externalDomain, replyTo: externalDomain, toCc: externalDomain, calendar: externalDomain}
	case c.Canonical:
		return expectation{sender: externalDomain, rcpts: internalDomain, from: externalDomain, replyTo: externalDomain, toCc: internalDomain}
	case c.Rules:
		return expectation{sender: externalDomain, rcpts: internalDomain, from: externalDomain, replyTo: externalDomain, toCc: externalDomain}
	default:
		return expectation{sender: internalDomain, rcpts: externalDomain, from: internalDomain, replyTo: internalDomain, toCc: internalDomain}
	}
}

// verify sends verifyMessages through the instance and checks every dumped message against
// the configuration's expectation and the mail log for clean deliveries.
func (in *instance) verify(ctx context.Context, idle time.Duration) error {
	err := runSource(ctx, sourceSpec{Addr: in.pf.Addr(), Messages: verifyMessages, Sessions: 1, File: in.msgFile})
	if err != nil {
		return err
	}
	if _, _, err := in.sink.waitCount(ctx, verifyMessages, idle); err != nil {
		return err
	}
	if err := in.pf.WaitQueueEmpty(idle); err != nil {
		return err
	}
	if c := in.waitLog(verifyMessages*rcptsPerMessage, 10*time.Second); !c.ok(verifyMessages * rcptsPerMessage) {
		return fmt.Errorf("mail log after %d test messages: %s", verifyMessages, c)
	}
	files, err := filepath.Glob(filepath.Join(in.dir, "dump", "msg.*"))
	if err != nil {
		return err
	}
	if len(files) != verifyMessages {
		return fmt.Errorf("smtp-sink dumped %d messages, want %d", len(files), verifyMessages)
	}
	want := in.cfg.expected()
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := checkDump(raw, want); err != nil {
			return fmt.Errorf("message delivered to the sink (%s): %w", f, err)
		}
	}
	return nil
}

var addrRE = regexp.MustCompile(`\b(\d+)` + userSuffix + `@([a-z.]+)`)

// checkDump checks one smtp-sink dump: X-Mail-Args / X-Rcpt-Args lines (the envelope), the
// sink's own Received:, then the message as Postfix relayed it.
func checkDump(raw []byte, want expectation) error {
	h, body, err := harness.ParseMessage(raw)
	if err != nil {
		return err
	}
	var problems []string
	check := func(what, value, domain string, users ...int) {
		var got, exp []string
		for _, m := range addrRE.FindAllStringSubmatch(value, -1) {
			got = append(got, m[1]+userSuffix+"@"+m[2])
		}
		for _, u := range users {
			exp = append(exp, fmt.Sprintf("%d%s@%s", u, userSuffix, domain))
		}
		if !slices.Equal(got, exp) {
			problems = append(problems, fmt.Sprintf("%s %q: want %v", what, strings.TrimSpace(value), exp))
		}
	}
	check("envelope sender", h.Get("X-Mail-Args"), want.sender, senderUser)
	check("From", h.Get("From"), want.from, senderUser)
	check("Reply-To", h.Get("Reply-To"), want.replyTo, replyToUser)
	check("To", h.Get("To"), want.toCc, toUsers...)
	check("Cc", h.Get("Cc"), want.toCc, ccUsers...)
	rcpts := h.Values("X-Rcpt-Args")
	if len(rcpts) != rcptsPerMessage {
		problems = append(problems, fmt.Sprintf("%d envelope recipients, want %d", len(rcpts), rcptsPerMessage))
	}
	for _, r := range rcpts {
		m := addrRE.FindStringSubmatch(r)
		if m == nil || m[2] != want.rcpts {
			problems = append(problems, fmt.Sprintf("envelope recipient %q: want one @%s", strings.TrimSpace(r), want.rcpts))
		}
	}
	if want.calendar != "" {
		ics, err := calendarData(h.Get("Content-Type"), body)
		if err != nil {
			problems = append(problems, err.Error())
		}
		ics = strings.ReplaceAll(strings.ReplaceAll(ics, "\r\n ", ""), "\n ", "") // unfold
		check("calendar ORGANIZER and ATTENDEE", ics, want.calendar, append(append([]int{senderUser}, toUsers...), ccUsers...)...)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// calendarData returns the decoded text/calendar part of a multipart message with that
// Content-Type and body.
func calendarData(contentType string, body []byte) (string, error) {
	_, params, err := mime.ParseMediaType(strings.TrimSpace(contentType))
	if err != nil || params["boundary"] == "" {
		return "", fmt.Errorf("Content-Type %q: not multipart (%v)", strings.TrimSpace(contentType), err)
	}
	r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := r.NextPart()
		if err != nil {
			return "", fmt.Errorf("no text/calendar part: %w", err)
		}
		if !strings.HasPrefix(p.Header.Get("Content-Type"), "text/calendar") {
			continue
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return "", err
		}
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
			dec, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(data)), ""))
			if err != nil {
				return "", fmt.Errorf("text/calendar part: %w", err)
			}
			data = dec
		}
		return string(data), nil
	}
}
