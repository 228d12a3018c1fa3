package rewrite

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// ImportCommand is the Exchange Management Shell command that creates the entries of a file
// WriteCSV wrote on an Edge Transport server (rollback). Import-Csv gives every column as a
// string: OutboundOnly is parsed to a Boolean, and the ExceptionList cell is split into its
// domains (an empty list passes none).
const ImportCommand = `Import-Csv rules.csv | ForEach-Object { $p = @{Name=$_.Name; InternalAddress=$_.InternalAddress; ExternalAddress=$_.ExternalAddress; OutboundOnly=[bool]::Parse($_.OutboundOnly)}; if ($_.ExceptionList) { $p.ExceptionList = $_.ExceptionList -split ',' }; New-AddressRewriteEntry @p }`

// WriteCSV writes rules as an Exchange CSV that Import-Csv reads (UTF-8 with a byte order
// mark, which Windows PowerShell 5.1 needs to read UTF-8, CRLF line ends, fields quoted where
// needed), and that ParseCSV reads back as the same rules. The columns are those
// New-AddressRewriteEntry takes, named as Get-AddressRewriteEntry shows them. A rule without a Name (a
// native rule) is named after where it was written, "FILE:LINE" with the file's base name, as
// Exchange requires a Name and keeps Names unique.
func WriteCSV(w io.Writer, rules []Rule) error {
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString("\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	if err := cw.Write([]string{"Name", "InternalAddress", "ExternalAddress", "OutboundOnly", "ExceptionList"}); err != nil {
		return err
	}
	for i := range rules {
		r := &rules[i]
		name := r.Name
		if name == "" {
			name = fmt.Sprintf("%s:%d", filepath.Base(r.Pos.File), r.Pos.Line)
		}
		out := "False"
		if r.OutboundOnly {
			out = "True"
		}
		for _, e := range r.Exceptions {
			if strings.Contains(e, ",") {
				return fmt.Errorf("%s: %w: an exception holding a comma cannot be written to an ExceptionList cell: %q", r.Pos, ErrSyntax, e)
			}
		}
		if err := cw.Write([]string{name, r.Internal, r.External, out, strings.Join(r.Exceptions, ",")}); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}
