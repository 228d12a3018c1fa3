package rewrite

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The Exchange CSV, as admins feed Import-Csv | New-AddressRewriteEntry and as Export-Csv
// writes it (Microsoft Learn, "Import address rewrite entries on Edge Transport servers"):
// a header row, then one entry per row. Columns are found by name, case-insensitively: Name,
// InternalAddress, ExternalAddress (required), OutboundOnly (True/False in any case, empty =
// False), ExceptionList (comma-separated domains in one quoted field); other columns are
// ignored. Accepted as Windows tools write it: a leading "#TYPE ..." line (Windows PowerShell
// Export-Csv), UTF-8 with or without BOM or UTF-16 with BOM, "," or ";" as delimiter (Excel in
// some locales), quoted fields, CRLF.

const (
	colName      = "name"
	colInternal  = "internaladdress"
	colExternal  = "externaladdress"
	colOutbound  = "outboundonly"
	colException = "exceptionlist"
)

// ParseCSV parses an Exchange address rewrite CSV. name is used in positions and errors. Like
// ParseNative it returns the rules well-formed on their own and a *LoadError for every row
// that is not.
func ParseCSV(name string, r io.Reader) ([]Rule, []error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, []error{&LoadError{Pos: Position{File: name}, Err: fmt.Errorf("%w: reading the file: %w", ErrSyntax, err)}}
	}
	cs, errs := parseCSV(name, b)
	return rulesOf(cs), errs
}

func parseCSV(name string, b []byte) ([]*compiled, []error) {
	text, err := decodeText(b)
	if err != nil {
		return nil, []error{err.at(name)}
	}
	if len(text) >= 5 && strings.EqualFold(text[:5], "#TYPE") {
		// Blank the line but keep its line end, so line numbers stay true.
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			text = text[i:]
		} else {
			text = ""
		}
	}
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comma = detectDelimiter(text)
	cr.FieldsPerRecord = -1
	header, err2 := cr.Read()
	if err2 == io.EOF {
		return nil, nil // an empty file holds no rules
	}
	if err2 != nil {
		return nil, []error{csvError(name, err2)}
	}
	headerLine, _ := cr.FieldPos(0)
	cols, herr := csvColumns(header)
	if herr != nil {
		return nil, []error{errAt(name, headerLine, ErrSyntax, ": %v: %q", herr, strings.Join(header, string(cr.Comma)))}
	}
	var (
		cs   []*compiled
		errs []error
	)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return cs, append(errs, csvError(name, err))
		}
		line, _ := cr.FieldPos(0)
		if strings.TrimSpace(strings.Join(rec, "")) == "" {
			continue // a row of empty cells, as spreadsheets leave
		}
		r, rerr := csvRule(name, line, cols, rec)
		if rerr != nil {
			errs = append(errs, rerr)
			continue
		}
		c, cerrs := compile(r)
		if cerrs != nil {
			errs = append(errs, cerrs...)
			continue
		}
		cs = append(cs, c)
	}
	return cs, errs
}

type textError struct {
	line int
	msg  string
}

func (e *textError) at(name string) error { return errAt(name, e.line, ErrSyntax, ": %s", e.msg) }

// decodeText returns b as UTF-8 text without a byte order mark. UTF-16 needs its BOM (as
// Windows writes it); anything else must be valid UTF-8.
func decodeText(b []byte) (string, *textError) {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		b = b[3:]
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}), bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		if len(b)%2 != 0 {
			return "", &textError{msg: "UTF-16 file with an odd number of bytes"}
		}
		u := make([]uint16, 0, len(b)/2-1)
		for i := 2; i < len(b); i += 2 {
			if b[0] == 0xFF {
				u = append(u, uint16(b[i])|uint16(b[i+1])<<8)
			} else {
				u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
			}
		}
		return string(utf16.Decode(u)), nil
	}
	if !utf8.Valid(b) {
		line := 1
		for len(b) > 0 {
			r, size := utf8.DecodeRune(b)
			if r == utf8.RuneError && size == 1 {
				break
			}
			if r == '\n' {
				line++
			}
			b = b[size:]
		}
		return "", &textError{line: line, msg: "file is not UTF-8 (in Excel save as \"CSV UTF-8\"; in PowerShell use -Encoding UTF8)"}
	}
	return string(b), nil
}

// detectDelimiter picks ',' or ';' for the header row: the one that splits it into the
// InternalAddress and ExternalAddress columns, else the more frequent one.
func detectDelimiter(text string) rune {
	text = strings.TrimLeft(text, "\r\n")
	header, _, _ := strings.Cut(text, "\n")
	for _, d := range []rune{',', ';'} {
		cr := csv.NewReader(strings.NewReader(header))
		cr.Comma = d
		if rec, err := cr.Read(); err == nil {
			if _, err := csvColumns(rec); err == nil {
				return d
			}
		}
	}
	if strings.Count(header, ";") > strings.Count(header, ",") {
		return ';'
	}
	return ','
}

// csvColumns maps the lower-cased column names we use to their index in header.
func csvColumns(header []string) (map[string]int, error) {
	cols := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if _, dup := cols[h]; dup && h != "" {
			return nil, fmt.Errorf("column %q appears twice in the header", header[i])
		}
		cols[h] = i
	}
	for _, need := range []string{colInternal, colExternal} {
		if _, ok := cols[need]; !ok {
			return nil, errors.New("the header needs InternalAddress and ExternalAddress columns (separated by , or ;)")
		}
	}
	return cols, nil
}

func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return errAt(name, pe.Line, ErrSyntax, ": %v", pe.Err)
	}
	return errAt(name, 0, ErrSyntax, ": %v", err)
}

// csvRule builds the rule of one row.
func csvRule(name string, line int, cols map[string]int, rec []string) (Rule, error) {
	cell := func(col string) (string, bool) {
		i, ok := cols[col]
		if !ok {
			return "", true
		}
		if i >= len(rec) {
			return "", false
		}
		return strings.TrimSpace(rec[i]), true
	}
	r := Rule{Pos: Position{File: name, Line: line}}
	var out, exc string
	ok := [5]bool{}
	r.Name, ok[0] = cell(colName)
	r.Internal, ok[1] = cell(colInternal)
	r.External, ok[2] = cell(colExternal)
	out, ok[3] = cell(colOutbound)
	exc, ok[4] = cell(colException)
	for _, o := range ok {
		if !o {
			return Rule{}, errAt(name, line, ErrSyntax, ": row has %d fields, fewer than the header: %q", len(rec), strings.Join(rec, ","))
		}
	}
	if r.Internal == "" || r.External == "" {
		return Rule{}, errAt(name, line, ErrSyntax, ": InternalAddress and ExternalAddress must not be empty: %q", strings.Join(rec, ","))
	}
	switch {
	case out == "" || strings.EqualFold(out, "false"):
	case strings.EqualFold(out, "true"):
		r.OutboundOnly = true
	default:
		return Rule{}, errAt(name, line, ErrSyntax, ": OutboundOnly must be True or False: %q", out)
	}
	if isDotNetTypeName(exc) {
		return Rule{}, errAt(name, line, ErrBadException, ": ExceptionList holds a .NET type name, not domains (export it with @{n='ExceptionList';e={$_.ExceptionList -join ','}}): %q", exc)
	}
	for e := range strings.SplitSeq(exc, ",") {
		if e = strings.TrimSpace(e); e != "" {
			r.Exceptions = append(r.Exceptions, e)
		}
	}
	return r, nil
}

// isDotNetTypeName reports whether s is what Export-Csv writes for a collection it cannot
// flatten, such as "Microsoft.Exchange.Data.MultiValuedProperty`1[Microsoft.Exchange.Data.SmtpDomain]".
func isDotNetTypeName(s string) bool {
	return (strings.HasPrefix(s, "Microsoft.") || strings.HasPrefix(s, "System.")) &&
		(strings.ContainsAny(s, "`[") || strings.Contains(s, "MultiValuedProperty"))
}

// isCSV reports whether a file name has the .csv extension (any case).
func isCSV(name string) bool { return hasExt(name, ".csv") }

// hasExt reports whether name ends in ext, case-insensitively, after a non-empty stem.
func hasExt(name, ext string) bool {
	return len(name) > len(ext) && strings.EqualFold(name[len(name)-len(ext):], ext)
}
