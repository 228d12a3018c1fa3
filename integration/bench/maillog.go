package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// logCounts is what a stretch of a Postfix instance's mail log says about a run.
type logCounts struct {
	Sent, Deferred, Bounced int // delivery attempts per recipient (status=...)
	// Rejected counts smtpd/cleanup rejects, milter ones included (NOQUEUE: reject,
	// milter-reject, ...).
	Rejected int
	// Problems are the lines that fail a run: deferrals, bounces, rejects, anything naming a
	// milter, error/fatal/panic lines (the first few kept, all counted).
	Problems     []string
	ProblemCount int
	// Warnings are other warning lines, reported but not failing a run: an overloaded
	// machine makes Postfix's master log "master_wakeup_timer_event: ... Resource
	// temporarily unavailable" (a wakeup it will repeat), which loses no mail.
	Warnings     []string
	WarningCount int
}

const maxProblems = 5

// ok reports whether the log shows want successful deliveries and no problem.
func (c logCounts) ok(want int) bool {
	return c.Sent == want && c.Deferred == 0 && c.Bounced == 0 && c.Rejected == 0 && c.ProblemCount == 0
}

func (c logCounts) String() string {
	s := fmt.Sprintf("sent=%d deferred=%d bounced=%d rejected=%d problems=%d warnings=%d", c.Sent, c.Deferred, c.Bounced, c.Rejected, c.ProblemCount, c.WarningCount)
	if len(c.Problems) > 0 {
		s += ", first: " + strings.Join(c.Problems, " | ")
	}
	return s
}

// readLog counts the lines of path from byte offset on and returns the offset of its end.
// Only whole lines are read: a line postlogd is still writing waits for the next call.
func readLog(path string, offset int64) (logCounts, int64, error) {
	var c logCounts
	end, err := scanLines(path, offset, c.add)
	return c, end, err
}

// scanLines calls fn for each whole line of path from offset on (without its line end) and
// returns the offset after the last whole line.
func scanLines(path string, offset int64, fn func(string)) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return offset, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return offset, err
	}
	br := bufio.NewReaderSize(f, 1<<16)
	for {
		line, err := br.ReadString('\n')
		if err == io.EOF { // a partial line or none: stop before it
			return offset, nil
		}
		if err != nil {
			return offset, err
		}
		offset += int64(len(line))
		fn(strings.TrimSuffix(line, "\n"))
	}
}

// add counts one log line.
func (c *logCounts) add(line string) {
	switch {
	case strings.Contains(line, " status=sent "):
		c.Sent++
		return
	case strings.Contains(line, " status=deferred "):
		c.Deferred++
	case strings.Contains(line, " status=bounced "):
		c.Bounced++
	case strings.Contains(line, "reject:") || strings.Contains(line, "milter-reject") ||
		strings.Contains(line, "milter-discard") || strings.Contains(line, "milter-hold"):
		c.Rejected++
	case strings.Contains(strings.ToLower(line), "milter") || strings.Contains(line, "error:") ||
		strings.Contains(line, "fatal:") || strings.Contains(line, "panic:"):
	case strings.Contains(line, "warning:"):
		c.warn(line)
		return
	default:
		return
	}
	c.note(line)
}

// note counts a problem line and keeps the first few.
func (c *logCounts) note(line string) {
	c.ProblemCount++
	if len(c.Problems) < maxProblems {
		c.Problems = append(c.Problems, line)
	}
}

// warn counts a warning line and keeps the first few.
func (c *logCounts) warn(line string) {
	c.WarningCount++
	if len(c.Warnings) < maxProblems {
		c.Warnings = append(c.Warnings, line)
	}
}

// merge adds the counts of o.
func (c *logCounts) merge(o logCounts) {
	c.Sent += o.Sent
	c.Deferred += o.Deferred
	c.Bounced += o.Bounced
	c.Rejected += o.Rejected
	for _, p := range o.Problems {
		c.note(p)
	}
	c.ProblemCount += o.ProblemCount - len(o.Problems)
	for _, w := range o.Warnings {
		c.warn(w)
	}
	c.WarningCount += o.WarningCount - len(o.Warnings)
}
