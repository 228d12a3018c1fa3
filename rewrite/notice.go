package rewrite

import (
	"fmt"
	"log/slog"
)

// Notice is something a load accepted but an admin should know of: a file read in a legacy
// encoding, an Exchange export column that carried nothing, two CSV entries with one Name, a
// rule whose external side is outside the organisation. Level is slog.LevelInfo for a notice
// and slog.LevelWarn for a warning, so the daemon logs each at its level and `check` prints it.
type Notice struct {
	// Pos is the rule or file it is about (Line 0: the file as a whole).
	Pos   Position
	Level slog.Level
	Msg   string
}

// String returns "file:line: warning: text" (or "notice:"), as `check` prints it.
func (n Notice) String() string {
	what := "notice"
	if n.Level >= slog.LevelWarn {
		what = "warning"
	}
	switch {
	case n.Pos.File == "":
		return what + ": " + n.Msg
	case n.Pos.Line == 0:
		return fmt.Sprintf("%s: %s: %s", n.Pos.File, what, n.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", n.Pos, what, n.Msg)
}

func noticeAt(pos Position, level slog.Level, format string, args ...any) Notice {
	return Notice{Pos: pos, Level: level, Msg: fmt.Sprintf(format, args...)}
}
