package daemon

import (
	"io"
	stdlog "log"
	"log/slog"
	"strings"
)

// stdLogWriter turns each line the standard log package writes into a record of the daemon's
// logger, so that with log_format = "json" every line the daemon writes is JSON. go-milter is
// what writes there: it logs through the standard logger when a connection ends on an error
// (a command it does not know, a packet it cannot read, a callback's error, a reply it cannot
// write, a panic). The log package makes one Write per entry, so a multi-line entry (a panic's
// stack) stays one record.
type stdLogWriter struct {
	warn, err io.Writer
}

// newStdLogWriter builds the writer on the daemon's handler. The records are built by slog's
// own log.Logger bridge, one per level; the writer only picks the level.
func newStdLogWriter(h slog.Handler) *stdLogWriter {
	return &stdLogWriter{
		warn: slog.NewLogLogger(h, slog.LevelWarn).Writer(),
		err:  slog.NewLogLogger(h, slog.LevelError).Writer(),
	}
}

// Write logs p as one record.
func (w *stdLogWriter) Write(p []byte) (int, error) {
	if stdLogLevel(string(p)) == slog.LevelWarn {
		return w.warn.Write(p)
	}
	return w.err.Write(p)
}

// stdLogLevel is warning for the go-milter lines about the MTA's side of a connection (it
// sent a command go-milter does not know, or the connection broke while go-milter read): the
// MTA applies milter_default_action and nothing is wrong with the daemon. Every other line
// (our callback failed, our reply could not be written, a panic) is an error.
func stdLogLevel(line string) slog.Level {
	switch {
	case strings.HasPrefix(line, "Unrecognized command code"),
		strings.HasPrefix(line, "Error reading milter command"):
		return slog.LevelWarn
	}
	return slog.LevelError
}

// captureStdLog sends the standard logger's output to log until restore is called, without
// the standard logger's own date and time (the record has its time). The standard logger is
// process-wide, so only `edgerewrite serve` does this, not tests that run several daemons.
func captureStdLog(log *slog.Logger) (restore func()) {
	out, flags, prefix := stdlog.Writer(), stdlog.Flags(), stdlog.Prefix()
	stdlog.SetOutput(newStdLogWriter(log.Handler()))
	stdlog.SetFlags(0)
	stdlog.SetPrefix("")
	return func() {
		stdlog.SetOutput(out)
		stdlog.SetFlags(flags)
		stdlog.SetPrefix(prefix)
	}
}
