package rewrite

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestWriteCSV(t *testing.T) {
	rules := []Rule{
		{Name: "Wingtip UK", Internal: "*.wingtiptoys.co.uk", External: "tailspintoys.com", Kind: KindWildcard, OutboundOnly: true, Exceptions: []string{"legal.wingtiptoys.co.uk", "hr.wingtiptoys.co.uk"}},
		{Internal: `"john smith"@tenanta.contoso.com`, External: "john.smith@contoso.com", Kind: KindAddress, Pos: Position{"/etc/edgerewrite/rules/users.rules", 12}},
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, rules); err != nil {
		t.Fatal(err)
	}
	want := "\uFEFFName,InternalAddress,ExternalAddress,OutboundOnly,ExceptionList\r\n" +
		"Wingtip UK,*.wingtiptoys.co.uk,tailspintoys.com,True,\"legal.wingtiptoys.co.uk,hr.wingtiptoys.co.uk\"\r\n" +
		"users.rules:12,\"\"\"john smith\"\"@tenanta.contoso.com\",john.smith@contoso.com,False,\r\n"
	if buf.String() != want {
		t.Errorf("got\n%q\nwant\n%q", buf.String(), want)
	}
	again, errs := ParseCSV("again.csv", &buf)
	if errs != nil || !sameRules(rules, again) || again[1].Name != "users.rules:12" {
		t.Errorf("read back: %+v %v", again, errs)
	}
	err := WriteCSV(&bytes.Buffer{}, []Rule{{Internal: "*.a.example", External: "b.example", Exceptions: []string{"x,y"}, Pos: Position{"a.rules", 3}}})
	if !errors.Is(err, ErrSyntax) || !strings.HasPrefix(err.Error(), "a.rules:3: ") {
		t.Errorf("exception with a comma: %v", err)
	}
}

// csvRoundTrip writes rules with WriteCSV and parses them back.
func csvRoundTrip(t *testing.T, rules []Rule) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteCSV(&buf, rules); err != nil {
		if errors.Is(err, ErrSyntax) {
			return // an exception holding a comma
		}
		t.Fatal(err)
	}
	again, errs := ParseCSV("again.csv", bytes.NewReader(buf.Bytes()))
	if errs != nil {
		t.Fatalf("re-parse of\n%s: %v", buf.String(), errors.Join(errs...))
	}
	if !sameRules(rules, again) {
		t.Fatalf("CSV round trip changed the rules:\n%v\n%v", rules, again)
	}
}
