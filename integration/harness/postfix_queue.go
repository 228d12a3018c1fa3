package harness

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// QueuedMessage is one message in the instance's queue, as `postqueue -j` describes it.
type QueuedMessage struct {
	// QueueName is "incoming", "active", "deferred", "hold" or "maildrop".
	QueueName    string       `json:"queue_name"`
	QueueID      string       `json:"queue_id"`
	ArrivalTime  int64        `json:"arrival_time"`
	MessageSize  int64        `json:"message_size"`
	ForcedExpire bool         `json:"forced_expire"`
	Sender       string       `json:"sender"`
	Recipients   []QueuedRcpt `json:"recipients"`
}

// QueuedRcpt is one recipient of a queued message.
type QueuedRcpt struct {
	Address     string `json:"address"`
	DelayReason string `json:"delay_reason"`
}

// Queue lists the queued messages (postqueue -c DIR -j).
func (p *Postfix) Queue() ([]QueuedMessage, error) {
	out, err := p.command("postqueue", "-j")
	if err != nil {
		return nil, err
	}
	var msgs []QueuedMessage
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var m QueuedMessage
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, fmt.Errorf("postqueue -j line %q: %w", sc.Text(), err)
		}
		msgs = append(msgs, m)
	}
	return msgs, sc.Err()
}

// ReleaseHeld moves every message on hold to the deferred queue (postsuper -H ALL) and flushes
// the queue, so released mail is delivered at once.
func (p *Postfix) ReleaseHeld() error {
	if _, err := p.command("postsuper", "-H", "ALL"); err != nil {
		return err
	}
	return p.Flush()
}

// Flush asks the queue manager to deliver all queued mail now (postqueue -f).
func (p *Postfix) Flush() error {
	_, err := p.command("postqueue", "-f")
	return err
}

// WaitQueueEmpty waits until the queue holds no message at all (held ones included).
func (p *Postfix) WaitQueueEmpty(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		q, err := p.Queue()
		if err != nil {
			return err
		}
		if len(q) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, m := range q {
				fmt.Fprintf(&b, "\n  %s %s from <%s>", m.QueueName, m.QueueID, m.Sender)
				for _, r := range m.Recipients {
					fmt.Fprintf(&b, " to <%s> (%s)", r.Address, r.DelayReason)
				}
			}
			return fmt.Errorf("postfix %s: %d messages still queued after %s:%s", p.Dir, len(q), timeout, b.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Log returns the instance's mail log so far ("" if there is none yet).
func (p *Postfix) Log() string {
	b, _ := os.ReadFile(p.LogFile)
	return string(b)
}

// WaitLog waits until a line of the mail log contains substr and returns that line. The log
// is written by postlogd a moment after the event, so assert on it with WaitLog, not Log.
func (p *Postfix) WaitLog(substr string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		for _, l := range strings.Split(p.Log(), "\n") {
			if strings.Contains(l, substr) {
				return l, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("postfix %s: no log line with %q within %s; last lines:\n%s", p.Dir, substr, timeout, tail(p.Log(), 15))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Command runs a Postfix command-line tool against this instance, e.g.
// Command("postsuper", "-d", "ALL") or Command("postconf", "-n"); -c DIR is added first.
func (p *Postfix) Command(name string, args ...string) ([]byte, error) {
	return p.command(name, args...)
}

func (p *Postfix) command(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, append([]string{"-c", p.ConfDir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
		}
		return out, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return out, nil
}
