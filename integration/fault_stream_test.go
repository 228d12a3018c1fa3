package integration

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// stream sends numbered messages from several connections at once, the way a real MTA does: a
// message answered with 4xx (at MAIL, RCPT or the final dot), or whose connection failed, is
// sent again after a short pause until Postfix takes it; a 5xx gives it up. Each message is
// sent on a connection of its own.
type stream struct {
	addr    string
	workers int
	// limit is the number of messages; 0 sends until the context passed to run is done.
	limit int
	// pause is the wait before a retry.
	pause time.Duration
	// giveUp bounds the retries of one message.
	giveUp time.Duration
	// message makes message number i.
	message func(i int) harness.Envelope

	next     atomic.Int64
	accepted atomic.Int64
	attempts atomic.Int64
	tempfail atomic.Int64
	// tempfailAt counts the 4xx answers by command: MAIL, RCPT, end of DATA.
	tempfailAt [3]atomic.Int64
	connErr    atomic.Int64

	mu   sync.Mutex
	done []sentMessage // by acceptance
	errs []error
}

// sentMessage is a message Postfix took: number, tries, and when the accepted try ran.
type sentMessage struct {
	N        int
	Attempts int
	// Start is when the accepted try dialled; End when the final dot's 250 came back.
	Start, End time.Time
}

// run sends until limit messages were taken (or ctx is done and every message started was
// taken) and returns them in the order Postfix took them.
func (s *stream) run(ctx context.Context) ([]sentMessage, error) {
	var wg sync.WaitGroup
	for range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if ctx.Err() != nil {
					return
				}
				i := int(s.next.Add(1) - 1)
				if s.limit > 0 && i >= s.limit {
					return
				}
				s.send(i)
			}
		}()
	}
	wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) > 0 {
		return s.done, fmt.Errorf("%d messages not taken, first: %w", len(s.errs), s.errs[0])
	}
	return s.done, nil
}

// send sends message i until Postfix takes it.
func (s *stream) send(i int) {
	env := s.message(i)
	deadline := time.Now().Add(s.giveUp)
	for attempt := 1; ; attempt++ {
		start := time.Now()
		s.attempts.Add(1)
		res, err := harness.Send(s.addr, env)
		switch {
		case err == nil && res.Accepted():
			s.accepted.Add(1)
			s.mu.Lock()
			s.done = append(s.done, sentMessage{N: i, Attempts: attempt, Start: start, End: time.Now()})
			s.mu.Unlock()
			return
		case err != nil:
			s.connErr.Add(1)
		case res.Refusal().Code >= 500:
			s.fail(fmt.Errorf("message %d refused: %w", i, res.Err()))
			return
		default:
			s.tempfail.Add(1)
			switch r := res.Refusal(); {
			case r == res.Mail:
				s.tempfailAt[0].Add(1)
			case r == res.Data:
				s.tempfailAt[2].Add(1)
			default:
				s.tempfailAt[1].Add(1)
			}
		}
		if time.Now().After(deadline) {
			s.fail(fmt.Errorf("message %d still not taken after %d tries in %s (last: %v)", i, attempt, s.giveUp, describe(res, err)))
			return
		}
		time.Sleep(s.pause)
	}
}

// tempfails describes the 4xx answers: "60 (MAIL 55, RCPT 0, DATA 5)".
func (s *stream) tempfails() string {
	return fmt.Sprintf("%d (at MAIL %d, RCPT %d, end of DATA %d)", s.tempfail.Load(),
		s.tempfailAt[0].Load(), s.tempfailAt[1].Load(), s.tempfailAt[2].Load())
}

func (s *stream) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, err)
}

func describe(res *harness.Result, err error) string {
	if err != nil {
		return err.Error()
	}
	return res.Refusal().String()
}
