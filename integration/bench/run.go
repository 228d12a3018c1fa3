package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// runResult is one measured run: one configuration, one connection mode, one round.
type runResult struct {
	Round    int
	Config   configuration
	Mode     mode
	Messages int
	// Elapsed is from smtp-source's start to the sink's counter reaching Messages.
	Elapsed time.Duration
	Rate    float64 // messages per second
	// Received is how many messages the sink got in this run (after the queue drained).
	Received int
	Log      logCounts // Postfix's mail log during the run
	// DaemonLog is edgerewrite's log during the run (ERROR lines are problems).
	DaemonLog logCounts
	// MilterCPU is the milter process's CPU time (user + system) over the run.
	MilterCPU time.Duration
	// MachineBusy is the share of the machine's CPU time that was busy during the run.
	MachineBusy float64
	// Err says why the run failed; a failed run has no rate.
	Err error
}

// OK reports whether the run counts.
func (r runResult) OK() bool { return r.Err == nil }

// warnings are the warning lines of both logs that did not fail the run, and how many.
func (r runResult) warnings() ([]string, int) {
	return append(append([]string(nil), r.Log.Warnings...), r.DaemonLog.Warnings...), r.Log.WarningCount + r.DaemonLog.WarningCount
}

// MilterCPUms is the milter's CPU milliseconds per message.
func (r runResult) MilterCPUms() float64 {
	return float64(r.MilterCPU) / float64(time.Millisecond) / float64(r.Messages)
}

// runParams are the load of one run.
type runParams struct {
	Messages, Sessions int
	Mode               mode
	// Idle bounds the wait for the next message at the sink and for the queue to drain.
	Idle time.Duration
}

// measure runs smtp-source against the instance and counts what arrives. A run that loses,
// defers, bounces or rejects anything, or whose log shows a milter problem, is failed.
func (in *instance) measure(ctx context.Context, round int, p runParams) runResult {
	res := runResult{Round: round, Config: in.cfg, Mode: p.Mode, Messages: p.Messages}
	if err := in.pf.WaitQueueEmpty(p.Idle); err != nil {
		res.Err = fmt.Errorf("queue not empty before the run: %w", err)
		return res
	}
	if _, off, err := readLog(in.pf.LogFile, in.logOff); err == nil {
		in.logOff = off // what came before this run is not this run's
	}
	base, _ := in.sink.count()
	var cpu0 time.Duration
	if in.daemon != nil {
		var err error
		if _, in.dlogOff, err = readDaemonLog(in.daemon.LogFile, in.dlogOff); err != nil {
			res.Err = fmt.Errorf("edgerewrite log: %w", err)
			return res
		}
		if cpu0, err = procCPU(in.daemon.PID()); err != nil {
			res.Err = fmt.Errorf("edgerewrite CPU time: %w", err)
			return res
		}
	}
	mc0, _ := readMachineCPU()

	start := time.Now()
	srcErr := runSource(ctx, sourceSpec{Addr: in.pf.Addr(), Messages: p.Messages, Sessions: p.Sessions, Reuse: p.Mode.Reuse, File: in.msgFile})
	var errs []error
	if srcErr != nil {
		errs = append(errs, srcErr)
	} else {
		_, at, err := in.sink.waitCount(ctx, base+p.Messages, p.Idle)
		if err != nil {
			errs = append(errs, err)
		} else {
			res.Elapsed = at.Sub(start)
			res.Rate = float64(p.Messages) / res.Elapsed.Seconds()
		}
	}
	if in.daemon != nil {
		cpu1, err := procCPU(in.daemon.PID())
		if err != nil {
			errs = append(errs, fmt.Errorf("edgerewrite CPU time (did it exit?): %w", err))
		}
		res.MilterCPU = cpu1 - cpu0
	}
	mc1, _ := readMachineCPU()
	res.MachineBusy = mc0.busyShare(mc1)

	// Let everything settle, then account for every message.
	if err := in.pf.WaitQueueEmpty(p.Idle); err != nil {
		errs = append(errs, err)
	}
	end, _ := in.sink.count()
	res.Received = end - base
	if srcErr == nil && res.Received != p.Messages {
		errs = append(errs, fmt.Errorf("smtp-sink received %d messages, smtp-source sent %d", res.Received, p.Messages))
	}
	want := p.Messages * rcptsPerMessage
	res.Log = in.waitLog(want, 10*time.Second)
	if !res.Log.ok(want) {
		errs = append(errs, fmt.Errorf("mail log: want sent=%d and nothing else: %s", want, res.Log))
	}
	if in.daemon != nil {
		c, off, err := readDaemonLog(in.daemon.LogFile, in.dlogOff)
		in.dlogOff, res.DaemonLog = off, c
		if err != nil {
			errs = append(errs, fmt.Errorf("edgerewrite log: %w", err))
		} else if c.ProblemCount > 0 {
			errs = append(errs, fmt.Errorf("edgerewrite logged %d errors, first: %s", c.ProblemCount, strings.Join(c.Problems, " | ")))
		}
	}
	if len(errs) > 0 {
		res.Err = errors.Join(errs...)
		res.Rate = 0
	}
	return res
}

// waitLog reads the mail log until want deliveries are logged (postlogd writes a moment after
// the event) or timeout passes, and returns the counts of the run.
func (in *instance) waitLog(want int, timeout time.Duration) logCounts {
	var total logCounts
	deadline := time.Now().Add(timeout)
	for {
		c, off, err := readLog(in.pf.LogFile, in.logOff)
		if err != nil {
			total.ProblemCount++
			total.Problems = append(total.Problems, "read "+in.pf.LogFile+": "+err.Error())
			return total
		}
		in.logOff = off
		total.merge(c)
		if total.Sent >= want || time.Now().After(deadline) {
			return total
		}
		time.Sleep(100 * time.Millisecond)
	}
}
