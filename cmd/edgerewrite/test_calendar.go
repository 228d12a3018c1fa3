package main

import (
	"fmt"
	"io"

	"github.com/edgerewrite/edgerewrite/milter/decide"
)

// printCalendar shows what the message's calendar data becomes: each ORGANIZER or ATTENDEE
// line before -> after with its MIME part and the rule, or why the body was not read or left
// alone. Nothing is printed for a message whose body was not given or cannot hold calendar
// data.
func printCalendar(w io.Writer, o decide.Outcome) {
	switch {
	case o.BodyState == "":
		return
	case o.BodyState == "too-large":
		fmt.Fprintln(w, "\ncalendar:   the body is over calendar_max_bytes: its calendar data passes unchanged")
		return
	case o.CalendarErr != nil:
		fmt.Fprintf(w, "\ncalendar:   left as it is: %v\n", o.CalendarErr)
		return
	case len(o.Calendar) == 0:
		fmt.Fprintln(w, "\ncalendar:   no ORGANIZER or ATTENDEE address to rewrite")
		return
	}
	fmt.Fprintln(w, "\ncalendar:")
	for _, c := range o.Calendar {
		fmt.Fprintf(w, "  part %s  %s\n  -> %s\n       %s -> %s  %s\n", c.Part, c.Before, c.After, c.Old, c.New, byRule(c.Rule))
	}
}
