package rewrite

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteNative writes rules in the native format, one line each, so that ParseNative reads back
// the same rules (Internal, External, Kind, OutboundOnly, Exceptions; positions are those of
// the new file). A rule's Name, which the native format has no field for, is written as a
// comment line above it. A rule whose sides cannot be written as fields (they hold a line break,
// spaces outside a quoted local part, or start with '#') is an error naming its position;
// nothing after it is written.
func WriteNative(w io.Writer, rules []Rule) error {
	bw := bufio.NewWriter(w)
	for i := range rules {
		r := &rules[i]
		fields := append([]string{r.Internal, r.External}, r.Exceptions...)
		for j, f := range fields {
			if !isNativeField(f) || (j >= 2 && strings.Contains(f, ",")) {
				return fmt.Errorf("%s: %w: cannot be written as a field of the native format: %q", r.Pos, ErrSyntax, f)
			}
		}
		if r.Name != "" {
			name := strings.Join(strings.Fields(r.Name), " ")
			if _, err := fmt.Fprintf(bw, "# %s\n", name); err != nil {
				return err
			}
		}
		line := r.Internal + " " + r.External
		if r.OutboundOnly {
			line += " " + optOutboundOnly
		}
		if len(r.Exceptions) > 0 {
			line += " " + optExcept + strings.Join(r.Exceptions, ",")
		}
		if _, err := bw.WriteString(line + "\n"); err != nil {
			return err
		}
	}
	return bw.Flush()
}
