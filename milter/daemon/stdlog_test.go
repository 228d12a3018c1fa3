package daemon

import (
	"bytes"
	"encoding/json"
	stdlog "log"
	"log/slog"
	"strings"
	"testing"
)

func TestStdLogWriter(t *testing.T) {
	tests := []struct {
		line, level string
	}{
		{"Unrecognized command code: Z", "WARN"},
		{"Error reading milter command: read unix @->/run/x.sock: connection reset by peer", "WARN"},
		{"Error performing milter command: sending the milter actions of queue id 4Q: broken pipe", "ERROR"},
		{"Error writing packet: write unix: broken pipe", "ERROR"},
		{"panic handling command: boom\ngoroutine 7 [running]:\nmain.f()\n", "ERROR"},
		{"something else entirely", "ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			var out bytes.Buffer
			// A logger of its own on the writer, as the standard one gets in serve: the test
			// leaves the process-wide standard logger alone.
			l := stdlog.New(newStdLogWriter(slog.NewJSONHandler(&out, nil)), "", 0)
			l.Print(tt.line)
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if len(lines) != 1 {
				t.Fatalf("%d lines, want one record: %q", len(lines), out.String())
			}
			var rec struct{ Level, Msg string }
			if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
				t.Fatalf("not JSON: %q: %v", lines[0], err)
			}
			if rec.Level != tt.level || rec.Msg != strings.TrimSuffix(tt.line, "\n") {
				t.Errorf("level %s msg %q, want %s %q", rec.Level, rec.Msg, tt.level, tt.line)
			}
		})
	}
}

func TestStdLogWriterRespectsLevel(t *testing.T) {
	var out bytes.Buffer
	l := stdlog.New(newStdLogWriter(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelError})), "", 0)
	l.Print("Unrecognized command code: Z")
	if out.Len() != 0 {
		t.Errorf("a warning came through at log_level error: %q", out.String())
	}
}

func TestCaptureStdLogRestores(t *testing.T) {
	before, flags := stdlog.Writer(), stdlog.Flags()
	restore := captureStdLog(slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil)))
	if _, ok := stdlog.Writer().(*stdLogWriter); !ok || stdlog.Flags() != 0 {
		t.Errorf("while captured: writer %T flags %d, want *stdLogWriter and no date prefix", stdlog.Writer(), stdlog.Flags())
	}
	restore()
	if stdlog.Writer() != before || stdlog.Flags() != flags {
		t.Errorf("not restored: writer %T flags %d", stdlog.Writer(), stdlog.Flags())
	}
}
