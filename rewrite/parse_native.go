package rewrite

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// The native rule file: one rule per line,
//
//	INTERNAL EXTERNAL [outbound-only] [except=a.example,b.example]
//
// fields separated by spaces or tabs (a quoted local part may hold them: "john smith"@x is one
// field); a field starting with '#' starts a comment that runs to the end of the line; blank lines are ignored; LF or CRLF line ends; UTF-8, a leading BOM is
// ignored. INTERNAL is an address (john@tenanta.contoso.com), a domain (tenanta.contoso.com) or
// a wildcard (*.contoso.com); EXTERNAL is an address for an address rule and a domain
// otherwise. Options are case-insensitive.

const (
	optOutboundOnly = "outbound-only"
	optExcept       = "except="
)

// ParseNative parses a native rule file. name is used in positions and errors. It returns the
// rules that are well-formed on their own (each checked as compile does) and a *LoadError for
// every line that is not (past MaxFileProblems, one counting the rest: *MoreProblems); rules
// are only checked against each other by Table.Load.
func ParseNative(name string, r io.Reader) ([]Rule, []error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, []error{&LoadError{Pos: Position{File: name}, Err: fmt.Errorf("%w: reading the file: %w", ErrSyntax, err)}}
	}
	cs, errs := parseNative(name, string(b), nil)
	return rulesOf(cs), errs
}

func rulesOf(cs []*compiled) []Rule {
	rules := make([]Rule, len(cs))
	for i, c := range cs {
		rules[i] = c.Rule
	}
	return rules
}

// parseNative parses the native format from content. Rules keep no reference to content: each
// keeps a copy of its own fields only, so a reload that reuses some rules frees the old file.
//
// old are the rules this file had (in line order, from the last successful load): a line whose
// fields are those of the old rule at the same line gives that rule back without compiling it
// again, so re-reading a large file after a one-line edit costs little more than splitting its
// lines.
func parseNative(name, content string, old []*compiled) ([]*compiled, []error) {
	var (
		cs     []*compiled
		errs   []error
		fields []string
	)
	content = strings.TrimPrefix(content, "\uFEFF")
	for lineNo := 1; content != ""; lineNo++ {
		line := content
		if i := strings.IndexByte(content, '\n'); i >= 0 {
			line, content = content[:i], content[i+1:]
		} else {
			content = ""
		}
		fields = splitFields(fields[:0], strings.TrimSuffix(line, "\r"))
		if len(fields) == 0 {
			continue
		}
		if !utf8.ValidString(line) {
			errs = addProblems(errs, name, errAt(name, lineNo, ErrSyntax, ": line is not UTF-8: %q", line))
			continue
		}
		for len(old) > 0 && old[0].Pos.Line < lineNo {
			old = old[1:]
		}
		if len(old) > 0 && old[0].Pos.Line == lineNo && old[0].Pos.File == name && sameFields(fields, old[0].fields) {
			cs = append(cs, old[0])
			continue
		}
		r, kept, err := nativeRule(name, lineNo, fields)
		if err != nil {
			errs = addProblems(errs, name, err)
			continue
		}
		c, cerrs := compile(r)
		if cerrs != nil {
			errs = addProblems(errs, name, cerrs...)
			continue
		}
		c.fields = kept
		cs = append(cs, c)
	}
	return cs, errs
}

// splitFields appends the space- or tab-separated fields of line before any comment to dst. A
// quoted-string (RFC 5322 §3.2.4) is part of its field, spaces, tabs and '#' in it included, so
// "john smith"@contoso.com is one field, as the CSV format takes it. A quote left open runs to
// the end of the line.
func splitFields(dst []string, line string) []string {
	for {
		line = strings.TrimLeft(line, " \t")
		if line == "" || line[0] == '#' {
			return dst
		}
		end, _ := fieldEnd(line)
		dst = append(dst, line[:end])
		line = line[end:]
	}
}

// fieldEnd returns the length of the field line starts with: up to the first space or tab
// outside a quoted-string, or to the end of the line. open is true when a quote is left open.
func fieldEnd(line string) (end int, open bool) {
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\\' && open:
			i++
		case c == '"':
			open = !open
		case (c == ' ' || c == '\t') && !open:
			return i, false
		}
	}
	return len(line), open
}

// isNativeField reports whether f can be written as one field of the native format: splitting
// it gives back f whole, with its quotes closed, and it holds no line break.
func isNativeField(f string) bool {
	end, open := fieldEnd(f)
	return f != "" && f[0] != '#' && !strings.ContainsAny(f, "\r\n") && end == len(f) && !open
}

// sameFields reports whether fields, joined by single spaces, are kept (as nativeRule joined
// them), without joining them.
func sameFields(fields []string, kept string) bool {
	for i, f := range fields {
		if i > 0 {
			if kept == "" || kept[0] != ' ' {
				return false
			}
			kept = kept[1:]
		}
		if !strings.HasPrefix(kept, f) {
			return false
		}
		kept = kept[len(f):]
	}
	return kept == ""
}

// nativeRule builds the rule of one line from its fields; its strings share one copy of them,
// kept (the fields joined by single spaces).
func nativeRule(name string, lineNo int, fields []string) (r Rule, kept string, err error) {
	for _, f := range fields {
		if _, open := fieldEnd(f); open {
			return Rule{}, "", errAt(name, lineNo, ErrSyntax, ": quoted string not closed: %q", f)
		}
	}
	if len(fields) < 2 {
		return Rule{}, "", errAt(name, lineNo, ErrSyntax, ", expected INTERNAL EXTERNAL [outbound-only] [except=DOMAIN,...]: %q", strings.Join(fields, " "))
	}
	// One allocation for the fields the rule keeps.
	kept = strings.Join(fields, " ")
	fields = splitFields(fields[:0], kept)
	r = Rule{Internal: fields[0], External: fields[1], Pos: Position{File: name, Line: lineNo}}
	seenOutbound := false
	for _, opt := range fields[2:] {
		switch {
		case strings.EqualFold(opt, optOutboundOnly):
			if seenOutbound {
				return Rule{}, "", errAt(name, lineNo, ErrSyntax, ": option given twice: %q", opt)
			}
			seenOutbound, r.OutboundOnly = true, true
		case len(opt) >= len(optExcept) && strings.EqualFold(opt[:len(optExcept)], optExcept):
			if r.Exceptions != nil {
				return Rule{}, "", errAt(name, lineNo, ErrSyntax, ": option given twice: %q", opt)
			}
			list := opt[len(optExcept):]
			if list == "" {
				return Rule{}, "", errAt(name, lineNo, ErrBadException, ": empty exception list: %q", opt)
			}
			r.Exceptions = strings.Split(list, ",")
			for _, e := range r.Exceptions {
				if e == "" {
					return Rule{}, "", errAt(name, lineNo, ErrBadException, ": empty item in exception list: %q", opt)
				}
			}
		default:
			return Rule{}, "", errAt(name, lineNo, ErrSyntax, ": unknown option, expected outbound-only or except=DOMAIN,...: %q", opt)
		}
	}
	return r, kept, nil
}
