package rewrite

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseCSV(t *testing.T) {
	const john = "2 address john@tenanta.contoso.com -> john@contoso.com"
	for _, tc := range []struct {
		name, in string
		want     []string // dumpRule of each rule
		wantErr  error
	}{
		{"minimal", "InternalAddress,ExternalAddress\njohn@tenanta.contoso.com,john@contoso.com\n", []string{john}, nil},
		{"header any case and order, extra columns", "externaladdress,Identity,INTERNALADDRESS,outboundonly\njohn@contoso.com,x,john@tenanta.contoso.com,\n", []string{john}, nil},
		{"spaces around header names and cells", " InternalAddress , ExternalAddress \n john@tenanta.contoso.com , john@contoso.com \n", []string{john}, nil},
		{"CRLF and BOM", "\uFEFFInternalAddress,ExternalAddress\r\njohn@tenanta.contoso.com,john@contoso.com\r\n", []string{john}, nil},
		{"#TYPE line", "#TYPE Selected.Microsoft.Exchange.Data.Directory.SystemConfiguration.AddressRewriteEntry\nInternalAddress,ExternalAddress\n\"john@tenanta.contoso.com\",\"john@contoso.com\"\n", []string{"3 address john@tenanta.contoso.com -> john@contoso.com"}, nil},
		{"semicolon", "InternalAddress;ExternalAddress;OutboundOnly\njohn@tenanta.contoso.com;john@contoso.com;tRuE\n", []string{john + " outbound-only"}, nil},
		{"semicolon with commas in a quoted cell", "InternalAddress;ExternalAddress;OutboundOnly;ExceptionList\n*.contoso.com;contoso.com;True;\"a.contoso.com,b.contoso.com\"\n", []string{"2 wildcard *.contoso.com -> contoso.com outbound-only except=a.contoso.com,b.contoso.com"}, nil},
		{"exceptions with spaces and a trailing comma", "InternalAddress,ExternalAddress,OutboundOnly,ExceptionList\n*.contoso.com,contoso.com,True,\" a.contoso.com , b.contoso.com, \"\n", []string{"2 wildcard *.contoso.com -> contoso.com outbound-only except=a.contoso.com,b.contoso.com"}, nil},
		{"empty file", "", nil, nil},
		{"header only", "Name,InternalAddress,ExternalAddress\n", nil, nil},
		{"rows of empty cells", "InternalAddress,ExternalAddress\n,\n\njohn@tenanta.contoso.com,john@contoso.com\n", []string{"4 address john@tenanta.contoso.com -> john@contoso.com"}, nil},
		{"quoted local part with a space", "InternalAddress,ExternalAddress\n\"\"\"john smith\"\"@tenanta.contoso.com\",john@contoso.com\n", []string{`2 address "john smith"@tenanta.contoso.com -> john@contoso.com`}, nil},
		{"no columns", "Name\nx\n", nil, ErrSyntax},
		{"duplicate column", "InternalAddress,ExternalAddress,internaladdress\na@b.example,c@d.example,x\n", nil, ErrSyntax},
		{"$true is PowerShell, not CSV", "InternalAddress,ExternalAddress,OutboundOnly\njohn@tenanta.contoso.com,john@contoso.com,$true\n", nil, ErrSyntax},
		{".NET type name", "InternalAddress,ExternalAddress,OutboundOnly,ExceptionList\n*.contoso.com,contoso.com,True,System.Collections.Generic.List`1[System.String]\n", nil, ErrBadException},
		{"bad exception", "InternalAddress,ExternalAddress,OutboundOnly,ExceptionList\n*.contoso.com,contoso.com,True,fabrikam.com\n", nil, ErrBadException},
		{"UTF-16 odd length", "\xFF\xFEa", nil, ErrSyntax},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rules, errs := ParseCSV("t.csv", strings.NewReader(tc.in))
			var got []string
			for _, r := range rules {
				got = append(got, dumpRule(r))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			switch {
			case tc.wantErr == nil && errs != nil:
				t.Errorf("unexpected errors: %v", errors.Join(errs...))
			case tc.wantErr != nil && (len(errs) != 1 || !errors.Is(errs[0], tc.wantErr)):
				t.Errorf("got errors %v, want one %v", errs, tc.wantErr)
			}
		})
	}
}

func TestParseCSVUTF16BigEndian(t *testing.T) {
	var b bytes.Buffer
	b.Write([]byte{0xFE, 0xFF})
	for _, r := range "InternalAddress,ExternalAddress\r\nbücher.example,books.example\r\n" {
		b.Write([]byte{byte(r >> 8), byte(r)})
	}
	rules, errs := ParseCSV("be.csv", &b)
	if errs != nil || len(rules) != 1 || rules[0].Internal != "bücher.example" {
		t.Fatalf("got %v %v", rules, errs)
	}
}

func FuzzParseCSV(f *testing.F) {
	for _, p := range append(mustOK(filepath.Glob("testdata/good/*.csv")), mustOK(filepath.Glob("testdata/bad/*.csv"))...) {
		f.Add(mustOK(os.ReadFile(p)))
	}
	f.Add([]byte("InternalAddress;ExternalAddress;OutboundOnly;ExceptionList\n*.a.example;b.example;True;\"x.a.example,y.a.example\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, errs := ParseCSV("f.csv", bytes.NewReader(data))
		for _, err := range errs {
			var le *LoadError
			if !errors.As(err, &le) || le.Pos.File != "f.csv" {
				t.Fatalf("error without position: %v", err)
			}
		}
		for _, r := range rules {
			if r.Kind == 0 || r.Pos.Line < 1 {
				t.Fatalf("rule without kind or line: %+v", r)
			}
		}
		roundTrip(t, rules)
		csvRoundTrip(t, rules)
	})
}
