package rewrite

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

func TestAddressKey(t *testing.T) {
	const plain = "josé@bücher.example"
	want, err := AddressKey(plain)
	if err != nil || want != "josé@xn--bcher-kva.example" {
		t.Fatalf("AddressKey(%q) = %q, %v", plain, want, err)
	}
	for _, a := range []string{
		"JOSÉ@bücher.example",
		`"josé"@bücher.example`,
		"jose\u0301@bücher.example", // NFD
		`"jose` + "\u0301" + `"@BÜCHER.example`,
		"josé@xn--bcher-kva.example",
		"josé@XN--BCHER-KVA.EXAMPLE.",
	} {
		if got, err := AddressKey(a); err != nil || got != want {
			t.Errorf("AddressKey(%q) = %q, %v; want %q", a, got, err, want)
		}
	}
	for _, a := range []string{"postmaster", "x@[192.0.2.1]", "@contoso.com", "x@", "x@a..b", "x@-a.example"} {
		if got, err := AddressKey(a); err == nil {
			t.Errorf("AddressKey(%q) = %q, want an error", a, got)
		}
	}
}

func TestAddressKeys(t *testing.T) {
	for _, tc := range []struct {
		addr, delims string
		want         []string
	}{
		{"john@contoso.com", "+", []string{"john@contoso.com"}},
		{"John+Tag@Contoso.com", "+", []string{"john+tag@contoso.com", "john@contoso.com"}},
		{`"john+tag"@contoso.com`, "+", []string{"john+tag@contoso.com", "john@contoso.com"}},
		{"john+SRS=ab=cd@contoso.com", "+", []string{"john+srs=ab=cd@contoso.com", "john@contoso.com"}},
		{"john+tag@contoso.com", "", []string{"john+tag@contoso.com"}},
		{"john-x+y@contoso.com", "+-", []string{"john-x+y@contoso.com", "john@contoso.com"}},
		{`"john smith+x"@contoso.com`, "+", []string{`"john smith+x"@contoso.com`}},
		{"+tag@contoso.com", "+", []string{"+tag@contoso.com"}},
		{"john+tag@[192.0.2.1]", "+", nil},
	} {
		if got := AddressKeys(tc.addr, tc.delims); !slices.Equal(got, tc.want) {
			t.Errorf("AddressKeys(%q, %q) = %q, want %q", tc.addr, tc.delims, got, tc.want)
		}
	}
}

func TestParseAddress(t *testing.T) {
	good := map[string]string{
		"john@contoso.com":                 "john@contoso.com",
		"John.Doe@Bücher.example":          "john.doe@xn--bcher-kva.example",
		`"john"@contoso.com`:               "john@contoso.com",
		`"John Smith"@tenanta.contoso.com`: `"john smith"@tenanta.contoso.com`,
	}
	for in, want := range good {
		if got, err := ParseAddress(in); err != nil || got != want {
			t.Errorf("ParseAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "john", "<john@contoso.com>", " john@contoso.com", "john smith@contoso.com",
		"john@contoso.com>", "a..b@contoso.com", "x@[192.0.2.1]", "x@", "@x.com", strings.Repeat("a", 65) + "@x.com"} {
		if got, err := ParseAddress(in); err == nil || !errors.Is(err, ErrBadAddress) {
			t.Errorf("ParseAddress(%q) = %q, %v; want an ErrBadAddress", in, got, err)
		}
	}
}

// equalSpellings returns spellings of addr that are the same mailbox by definition: the letter
// case of ASCII letters flipped, the local part quoted (when it is a dot-atom), in NFD, the
// domain as U-label and A-label and with a trailing dot.
func equalSpellings(addr string) []string {
	out := []string{flipASCII(addr)}
	local, domain, ok := SplitAddress(addr)
	if !ok {
		return out
	}
	if isDotAtom(local) {
		out = append(out, `"`+local+`"@`+domain)
	}
	if !strings.ContainsAny(local, `"\`) {
		out = append(out, norm.NFD.String(local)+"@"+domain)
	}
	if u, err := idna.Lookup.ToUnicode(domain); err == nil {
		out = append(out, local+"@"+u)
	}
	if a, err := idna.Lookup.ToASCII(domain); err == nil {
		out = append(out, local+"@"+a)
	}
	if !strings.HasSuffix(domain, ".") {
		out = append(out, local+"@"+domain+".")
	}
	return out
}

// FuzzAddressKey checks the exported model's invariant: if Equal(a, b) (b is one of
// equalSpellings(a)) then AddressKey(a) == AddressKey(b); a key is its own key and ParseAddress
// gives it back; and AddressKeys of an address with an extension ends with the key of the
// address without it.
func FuzzAddressKey(f *testing.F) {
	for _, s := range []string{
		"john@tenanta.contoso.com", "JOHN+tag@TenantA.contoso.com", `"john"@contoso.com`, "josé@bücher.example",
		"jose\u0301@xn--bcher-kva.example", `"john smith"@contoso.com`, "john+SRS=44d3a=2Q=fabrikam.com=mary@contoso.com",
		"x@[192.0.2.1]", "postmaster", `"j+x"@a.example`,
	} {
		f.Add(s, "+")
	}
	f.Add("john-x+y@contoso.com", "+-")
	f.Fuzz(func(t *testing.T, addr, delims string) {
		key, err := AddressKey(addr)
		for _, b := range equalSpellings(addr) {
			k2, err2 := AddressKey(b)
			if err == nil && (err2 != nil || k2 != key) {
				t.Fatalf("AddressKey(%q) = %q but AddressKey(%q) = %q, %v", addr, key, b, k2, err2)
			}
		}
		if err != nil {
			if AddressKeys(addr, delims) != nil {
				t.Fatalf("AddressKeys(%q) without a key is not nil", addr)
			}
			return
		}
		if again, err := AddressKey(key); err != nil || again != key {
			t.Fatalf("AddressKey(%q) = %q, but AddressKey(%q) = %q, %v", addr, key, key, again, err)
		}
		if l, _, _ := SplitAddress(addr); validLocal(l) {
			if pk, err := ParseAddress(addr); err != nil || pk != key {
				t.Fatalf("ParseAddress(%q) = %q, %v; AddressKey = %q", addr, pk, err, key)
			}
		}
		keys := AddressKeys(addr, delims)
		if len(keys) == 0 || keys[0] != key {
			t.Fatalf("AddressKeys(%q, %q) = %q, AddressKey = %q", addr, delims, keys, key)
		}
		local, domain, _ := SplitAddress(addr)
		if base, ext := SplitExtension(local, delims); base != "" {
			// A quoted local part splits inside its quotes; any other keeps its bytes, a
			// stray quote included.
			whole := local
			if strings.HasPrefix(local, `"`) {
				whole = unquote(local)
			}
			if !strings.HasSuffix(whole, ext) || ext == "" {
				t.Fatalf("SplitExtension(%q, %q) = %q, %q", local, delims, base, ext)
			}
			bk, err := AddressKey(base + "@" + domain)
			if err != nil || keys[len(keys)-1] != bk {
				t.Fatalf("AddressKeys(%q, %q) = %q; key without the extension %q, %v", addr, delims, keys, bk, err)
			}
		}
	})
}
