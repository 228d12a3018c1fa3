package harness

import (
	"crypto/tls"
	"errors"
	"fmt"
)

// Result holds every reply of one transaction. A command not sent has Code 0.
type Result struct {
	Greeting, Ehlo Reply
	// TLS is the connection state after STARTTLS (nil without TLS).
	TLS  *tls.ConnectionState
	Mail Reply
	// Rcpts has one reply per Envelope.Rcpts, in order.
	Rcpts []Reply
	// Data is the final reply to the message (after the dot), or the refusal of the DATA
	// command itself. Not sent when MAIL or every RCPT was refused.
	Data Reply
	// QueueID is Postfix's queue ID from "250 2.0.0 Ok: queued as ID".
	QueueID string
}

// Accepted reports whether the server took the message (2xx after the dot).
func (r *Result) Accepted() bool { return r.Data.Code >= 200 && r.Data.Code < 300 }

// Refusal is the first reply of the transaction that refused something (4xx or 5xx: greeting,
// EHLO, MAIL, each RCPT, DATA), or a zero Reply (Code 0) when nothing was refused.
func (r *Result) Refusal() Reply {
	replies := append([]Reply{r.Greeting, r.Ehlo, r.Mail}, r.Rcpts...)
	for _, rep := range append(replies, r.Data) {
		if rep.Code >= 400 {
			return rep
		}
	}
	return Reply{}
}

// Err is nil when every reply was positive; otherwise it names the first refused command and
// wraps its *smtp.SMTPError.
func (r *Result) Err() error {
	for _, s := range []struct {
		what string
		rep  Reply
	}{{"greeting", r.Greeting}, {"EHLO", r.Ehlo}, {"MAIL FROM", r.Mail}} {
		if err := s.rep.Err(); err != nil {
			return fmt.Errorf("%s refused: %w", s.what, err)
		}
	}
	for i, rep := range r.Rcpts {
		if err := rep.Err(); err != nil {
			return fmt.Errorf("RCPT TO #%d refused: %w", i+1, err)
		}
	}
	if err := r.Data.Err(); err != nil {
		return fmt.Errorf("DATA refused: %w", err)
	}
	if r.Data.Code == 0 {
		return errors.New("message not sent")
	}
	return nil
}
