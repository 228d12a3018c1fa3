package rewrite

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// The Exchange CSV, as admins feed Import-Csv | New-AddressRewriteEntry and as Export-Csv
// writes it (Microsoft Learn, "Import address rewrite entries on Edge Transport servers"):
// a header row, then one entry per row. Columns are found by name, case-insensitively: Name,
// InternalAddress, ExternalAddress (required), OutboundOnly (True/False in any case, empty =
// False), ExceptionList (comma-separated domains in one quoted field); other columns are
// ignored. Accepted as Windows tools write it: a leading "#TYPE ..." line (Windows PowerShell
// Export-Csv), UTF-8 with or without BOM, UTF-16 with BOM or else Windows-1252 (Excel's "CSV
// (Comma delimited)"), "," or ";" as delimiter (Excel in
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
	cs, _, errs := parseCSV(name, b)
	return rulesOf(cs), errs
}

// exportCommand is the Exchange Management Shell command that exports the entries with their
// exception lists as text, for the error on a wildcard row whose ExceptionList is a type name.
const exportCommand = `Get-AddressRewriteEntry | Select Name,InternalAddress,ExternalAddress,OutboundOnly,@{n='ExceptionList';e={$_.ExceptionList -join ','}} | Export-Csv -NoTypeInformation -Encoding UTF8 rules.csv`

// parseCSV parses an Exchange CSV file. Besides the rules and the errors it returns notices
// about what it accepted as Exchange and Excel write it: a Windows-1252 file, ExceptionList
// cells holding a .NET type name on rows that cannot have exceptions.
func parseCSV(name string, b []byte) ([]*compiled, []Notice, []error) {
	var notices []Notice
	text, enc, err := decodeText(b)
	if err != nil {
		return nil, nil, []error{err.at(name)}
	}
	if enc == encWindows1252 {
		notices = append(notices, noticeAt(Position{File: name}, slog.LevelInfo,
			"not UTF-8: read as Windows-1252, as Excel's \"CSV (Comma delimited)\" saves it; save as \"CSV UTF-8\" to be sure of the characters"))
	}
	// Windows PowerShell 5.1's Export-Csv writes ASCII unless told otherwise and turns every
	// other character into "?": a file of ASCII only, without a BOM, may be such an export.
	lossy := enc == encASCII
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
		return nil, notices, nil // an empty file holds no rules
	}
	if err2 != nil {
		return nil, notices, []error{csvError(name, err2)}
	}
	headerLine, _ := cr.FieldPos(0)
	cols, herr := csvColumns(header)
	if herr != nil {
		return nil, notices, []error{errAt(name, headerLine, ErrSyntax, ": %v: %q", herr, strings.Join(header, string(cr.Comma)))}
	}
	var (
		cs        []*compiled
		errs      []error
		typeNames []int // lines of address and domain rows whose ExceptionList is a type name
	)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return cs, notices, append(errs, csvError(name, err))
		}
		line, _ := cr.FieldPos(0)
		if strings.TrimSpace(strings.Join(rec, "")) == "" {
			continue // a row of empty cells, as spreadsheets leave
		}
		r, typeName, rerr := csvRule(name, line, cols, rec)
		if rerr != nil {
			errs = addProblems(errs, name, rerr)
			continue
		}
		if typeName {
			typeNames = append(typeNames, line)
		}
		if lossy {
			if e := lossyAddress(name, line, r); e != nil {
				errs = addProblems(errs, name, e)
				continue
			}
		}
		c, cerrs := compile(r)
		if cerrs != nil {
			errs = addProblems(errs, name, cerrs...)
			continue
		}
		cs = append(cs, c)
	}
	if len(typeNames) > 0 {
		notices = append(notices, noticeAt(Position{File: name, Line: typeNames[0]}, slog.LevelInfo,
			"the ExceptionList of %d address or domain %s is a .NET type name, as a plain Export-Csv writes it; "+
				"such rules cannot have exceptions, so it is ignored", len(typeNames), pluralWord(len(typeNames), "row", "rows")))
	}
	return cs, notices, errs
}

// lossyAddress is the error for a rule whose sides or exceptions hold "?" in a file that may
// be an ASCII export, or nil.
func lossyAddress(name string, line int, r Rule) error {
	for _, f := range append([]string{r.Internal, r.External}, r.Exceptions...) {
		if strings.Contains(f, "?") {
			return errAt(name, line, ErrLossyExport, ": %q holds \"?\" and the file is ASCII without a byte order mark, "+
				"as Windows PowerShell 5.1's Export-Csv writes by default, replacing every non-ASCII character with \"?\"; "+
				"export again with -Encoding UTF8 (if \"?\" really is part of the address, save the file as UTF-8 with a BOM)", f)
		}
	}
	return nil
}

type textError struct {
	line int
	msg  string
}

func (e *textError) at(name string) error { return errAt(name, e.line, ErrSyntax, ": %s", e.msg) }

// textEncoding is how decodeText read a file.
type textEncoding uint8

const (
	encUTF8        textEncoding = iota // UTF-8 with non-ASCII characters, or with a BOM
	encASCII                           // ASCII only, no BOM
	encUTF16                           // UTF-16 with a BOM
	encWindows1252                     // not UTF-8, no BOM: Excel's "CSV (Comma delimited)"
)

// decodeText returns b as UTF-8 text without a byte order mark, and how it was encoded.
// UTF-16 needs its BOM (as Windows writes it). Text that is not valid UTF-8 and has no BOM is
// read as Windows-1252, the ANSI code page Excel's "CSV (Comma delimited)" saves in on Western
// systems (every byte decodes, so it cannot fail).
func decodeText(b []byte) (string, textEncoding, *textError) {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return string(b[3:]), encUTF8, nil
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}), bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		if len(b)%2 != 0 {
			return "", encUTF16, &textError{msg: "UTF-16 file with an odd number of bytes"}
		}
		u := make([]uint16, 0, len(b)/2-1)
		for i := 2; i < len(b); i += 2 {
			if b[0] == 0xFF {
				u = append(u, uint16(b[i])|uint16(b[i+1])<<8)
			} else {
				u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
			}
		}
		return string(utf16.Decode(u)), encUTF16, nil
	}
	if utf8.Valid(b) {
		for _, c := range b {
			if c >= utf8.RuneSelf {
				return string(b), encUTF8, nil
			}
		}
		return string(b), encASCII, nil
	}
	// A file with valid UTF-8 sequences beside invalid bytes is UTF-8 damaged (or two files
	// pasted together): read as Windows-1252 it would turn "ü" into "Ã¼" without a word.
	line, bad, multi := 1, 0, false
	for rest := b; len(rest) > 0; {
		r, size := utf8.DecodeRune(rest)
		switch {
		case r == utf8.RuneError && size == 1:
			if bad == 0 {
				bad = line
			}
		case size > 1:
			multi = true
		case r == '\n' && bad == 0:
			line++
		}
		rest = rest[size:]
	}
	if multi {
		return "", encUTF8, &textError{line: bad, msg: "file is UTF-8 with bytes that are not (damaged, or parts in another encoding): save it again as \"CSV UTF-8\""}
	}
	text, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return "", encWindows1252, &textError{msg: fmt.Sprintf("file is neither UTF-8 nor Windows-1252 (%v)", err)}
	}
	return string(text), encWindows1252, nil
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

// csvRule builds the rule of one row. typeName reports an ExceptionList holding a .NET type
// name on a row that is not a wildcard (ignored, as such a row can have no exceptions).
func csvRule(name string, line int, cols map[string]int, rec []string) (r Rule, typeName bool, err error) {
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
	r = Rule{Pos: Position{File: name, Line: line}}
	var out, exc string
	ok := [5]bool{}
	r.Name, ok[0] = cell(colName)
	r.Internal, ok[1] = cell(colInternal)
	r.External, ok[2] = cell(colExternal)
	out, ok[3] = cell(colOutbound)
	exc, ok[4] = cell(colException)
	for _, o := range ok {
		if !o {
			return Rule{}, false, errAt(name, line, ErrSyntax, ": row has %d fields, fewer than the header: %q", len(rec), strings.Join(rec, ","))
		}
	}
	if r.Internal == "" || r.External == "" {
		return Rule{}, false, errAt(name, line, ErrSyntax, ": InternalAddress and ExternalAddress must not be empty: %q", strings.Join(rec, ","))
	}
	switch {
	case out == "" || strings.EqualFold(out, "false"):
	case strings.EqualFold(out, "true"):
		r.OutboundOnly = true
	default:
		return Rule{}, false, errAt(name, line, ErrSyntax, ": OutboundOnly must be True or False: %q", out)
	}
	if isDotNetTypeName(exc) {
		if !strings.HasPrefix(r.Internal, "*.") {
			return r, true, nil
		}
		return Rule{}, false, errAt(name, line, ErrBadException, ": ExceptionList holds a .NET type name, not the wildcard's exceptions, "+
			"as a plain Export-Csv writes it; export the entries with their exceptions as text: %s: %q", exportCommand, exc)
	}
	for e := range strings.SplitSeq(exc, ",") {
		if e = strings.TrimSpace(e); e != "" {
			r.Exceptions = append(r.Exceptions, e)
		}
	}
	return r, false, nil
}

// isDotNetTypeName reports whether s is what Export-Csv writes for a collection it cannot
// flatten: "Microsoft.Exchange.Data.MultiValuedProperty`1[Microsoft.Exchange.Data.SmtpDomain]"
// from Windows PowerShell, "System.Collections.ArrayList" over remote PowerShell.
func isDotNetTypeName(s string) bool {
	return (strings.HasPrefix(s, "Microsoft.") || strings.HasPrefix(s, "System.")) &&
		(strings.ContainsAny(s, "`[") || strings.Contains(s, "MultiValuedProperty") || strings.HasPrefix(s, "System.Collections."))
}

// isCSV reports whether a file name has the .csv extension (any case).
func isCSV(name string) bool { return hasExt(name, ".csv") }

// hasExt reports whether name ends in ext, case-insensitively, after a non-empty stem.
func hasExt(name, ext string) bool {
	return len(name) > len(ext) && strings.EqualFold(name[len(name)-len(ext):], ext)
}
