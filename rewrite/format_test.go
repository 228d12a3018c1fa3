package rewrite

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteNative(t *testing.T) {
	rules := []Rule{
		{Name: "Wingtip\nUK", Internal: "*.wingtiptoys.co.uk", External: "tailspintoys.com", Kind: KindWildcard, OutboundOnly: true, Exceptions: []string{"legal.wingtiptoys.co.uk", "hr.wingtiptoys.co.uk"}},
		{Internal: "john@tenanta.contoso.com", External: "john.smith@contoso.com", Kind: KindAddress},
		{Internal: `"john smith"@tenanta.contoso.com`, External: `"John\tSmith"@contoso.com`, Kind: KindAddress},
	}
	var buf bytes.Buffer
	if err := WriteNative(&buf, rules); err != nil {
		t.Fatal(err)
	}
	want := "# Wingtip UK\n*.wingtiptoys.co.uk tailspintoys.com outbound-only except=legal.wingtiptoys.co.uk,hr.wingtiptoys.co.uk\n" +
		"john@tenanta.contoso.com john.smith@contoso.com\n" +
		"\"john smith\"@tenanta.contoso.com \"John\\tSmith\"@contoso.com\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	for _, bad := range []Rule{
		{Internal: `john smith@a.example`, External: "j@b.example", Pos: Position{"x.csv", 7}},
		{Internal: `"john smith@a.example`, External: "j@b.example"},
		{Internal: "\"john\nsmith\"@a.example", External: "j@b.example"},
		{Internal: "#a@a.example", External: "j@b.example"},
		{Internal: "", External: "b.example"},
	} {
		if err := WriteNative(&bytes.Buffer{}, []Rule{bad}); !errors.Is(err, ErrSyntax) {
			t.Errorf("%+v: got %v, want ErrSyntax", bad, err)
		}
	}
	if err := WriteNative(&bytes.Buffer{}, []Rule{{Internal: `a b@x.example`, External: "y.example", Pos: Position{"x.csv", 7}}}); err == nil || !strings.HasPrefix(err.Error(), "x.csv:7: ") {
		t.Errorf("error without position: %v", err)
	}
}

// TestWriteRoundTrip writes every good test file in the native format and as CSV, and reads
// each back.
func TestWriteRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/good/*")
	for _, path := range files {
		if strings.HasSuffix(path, ".want") {
			continue
		}
		rules, errs := parseFile(t, path)
		if errs != nil {
			t.Fatal(errs)
		}
		roundTrip(t, rules)
		csvRoundTrip(t, rules)
	}
}
