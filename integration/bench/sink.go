package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// sink is Postfix's smtp-sink, the next hop of a benchmark instance. With -c it prints its
// running counters ("sess=N quit=N mesg=N", CR-terminated) on every event, unbuffered: the
// time the mesg counter reaches a run's total is the run's end. (Not -M: smtp-sink exits
// before it answers the last message's final dot, and Postfix then defers that message.)
type sink struct {
	addr string
	args []string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has been reaped
	err  error         // cmd.Wait's error, set before done is closed

	mu      sync.Mutex
	mesg    int
	at      time.Time     // when mesg last changed
	changed chan struct{} // closed and replaced whenever mesg changes
	stderr  bytes.Buffer
}

// sinkBacklog is smtp-sink's listen backlog argument.
const sinkBacklog = "1000"

// sinkArgs are the smtp-sink arguments for addr; dumpTemplate "" means no dumps.
func sinkArgs(addr, dumpTemplate string) []string {
	args := []string{"-u", "postfix", "-c"}
	if dumpTemplate != "" {
		args = append(args, "-d", dumpTemplate)
	}
	return append(args, addr, sinkBacklog)
}

// startSink runs smtp-sink on addr (host:port) and waits until it accepts connections. With
// dumpTemplate set (-d) every message is written to a file (verification only: it costs I/O).
func startSink(addr, dumpTemplate string) (*sink, error) {
	s := &sink{addr: addr, args: sinkArgs(addr, dumpTemplate), done: make(chan struct{}), changed: make(chan struct{})}
	s.cmd = exec.Command("smtp-sink", s.args...)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	s.cmd.Stderr = &lockedWriter{mu: &s.mu, w: &s.stderr}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("run smtp-sink: %w", err)
	}
	readerDone := make(chan struct{})
	go func() { s.readCounters(out); close(readerDone) }()
	go func() { <-readerDone; s.err = s.cmd.Wait(); close(s.done) }()

	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return s, nil
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("smtp-sink %v exited at start (%v): %s", s.args, s.err, s.stderrText())
		default:
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("smtp-sink on %s does not accept after 5 s: %s", addr, s.stderrText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var mesgRE = regexp.MustCompile(`mesg=(\d+)`)

// readCounters follows smtp-sink -c's counter lines.
func (s *sink) readCounters(r io.Reader) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadBytes('\r')
		if m := mesgRE.FindSubmatch(line); m != nil {
			n, _ := strconv.Atoi(string(m[1]))
			now := time.Now()
			s.mu.Lock()
			if n != s.mesg {
				s.mesg, s.at = n, now
				close(s.changed)
				s.changed = make(chan struct{})
			}
			s.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// count is the number of messages received so far and when the last one arrived.
func (s *sink) count() (int, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mesg, s.at
}

// waitCount waits until at least n messages were received and returns the count and the time
// the counter reached it. It gives up when ctx ends or no message arrives for idle.
func (s *sink) waitCount(ctx context.Context, n int, idle time.Duration) (int, time.Time, error) {
	for {
		s.mu.Lock()
		got, at, changed := s.mesg, s.at, s.changed
		s.mu.Unlock()
		if got >= n {
			return got, at, nil
		}
		select {
		case <-changed:
		case <-time.After(idle):
			return got, at, fmt.Errorf("smtp-sink received %d of %d messages, none in the last %s", got, n, idle)
		case <-s.done:
			return got, at, fmt.Errorf("smtp-sink exited (%v) after %d of %d messages: %s", s.err, got, n, s.stderrText())
		case <-ctx.Done():
			return got, at, ctx.Err()
		}
	}
}

func (s *sink) stderrText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(bytes.TrimSpace(s.stderr.Bytes()))
}

// stop ends smtp-sink (SIGTERM, then SIGKILL after 5 s) and waits until it is reaped.
func (s *sink) stop() {
	if s == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

// lockedWriter serialises writes into a buffer that is read under the same mutex.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
