package rewrite

import (
	"strings"
	"testing"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

func TestNormalizeDomain(t *testing.T) {
	good := map[string]string{
		"contoso.com":                   "contoso.com",
		"Contoso.COM":                   "contoso.com",
		"contoso.com.":                  "contoso.com",
		"bücher.example":                "xn--bcher-kva.example",
		"BÜCHER.example":                "xn--bcher-kva.example",
		"xn--bcher-kva.example":         "xn--bcher-kva.example",
		"XN--BCHER-KVA.Example":         "xn--bcher-kva.example",
		"a-b.c0.example":                "a-b.c0.example",
		"ＣＯＮＴＯＳＯ.com":                   "contoso.com", // full-width, mapped by UTS #46
		strings.Repeat("a", 63) + ".io": strings.Repeat("a", 63) + ".io",
	}
	for in, want := range good {
		got, err := NormalizeDomain(in)
		if err != nil || got != want {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", ".", "..", "a..b", ".a.example", "-a.example", "a-.example", "ab--cd.example", "a_b.example",
		"a b.example", "[192.0.2.1]", "*.example", "a@b.example", strings.Repeat("a", 64) + ".io",
		strings.Repeat("abcdefghi.", 26) + "io", "xn--zz.example", "a\x00.example",
	} {
		if got, err := NormalizeDomain(in); err == nil {
			t.Errorf("NormalizeDomain(%q) = %q, want an error", in, got)
		}
	}
}

func TestNormalizeLocal(t *testing.T) {
	for in, want := range map[string]string{
		"john":          "john",
		"John.Smith":    "john.smith",
		`"john"`:        "john",
		`"John Smith"`:  `"john smith"`,
		`john smith`:    `"john smith"`, // as the header scanner passes a quoted local part
		`"a\"b"`:        `"a\"b"`,
		`"a\b"`:         "ab",
		`".john"`:       `".john"`,
		"Jöhn":          "jöhn",
		"Jo\u0308hn":    "jöhn", // NFD
		"JOHN+Tag":      "john+tag",
		"bounces+SRS=x": "bounces+srs=x",
	} {
		if got := NormalizeLocal(in); got != want {
			t.Errorf("normalizeLocal(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExtension(t *testing.T) {
	for _, tc := range []struct{ local, delims, base, ext string }{
		{"john+tag", "+", "john", "+tag"},
		{"john+a+b", "+", "john", "+a+b"},
		{"john-x+y", "+-", "john", "-x+y"},
		{"john", "+", "", ""},
		{"+tag", "+", "", ""},
		{"john+tag", "", "", ""},
		{`"j+x"`, "+", "j", "+x"}, // needs no quotes: split as j+x
		{`"j x+y"`, "+", "", ""},  // needs its quotes: no extension
		{`"+x"`, "+", "", ""},
		{"john+SRS=44d3a=2Q=fabrikam.com=mary", "+", "john", "+SRS=44d3a=2Q=fabrikam.com=mary"},
		{"jöhn+x", "+\xc3", "jöhn", "+x"}, // non-ASCII delimiter bytes ignored
	} {
		base, ext := SplitExtension(tc.local, tc.delims)
		if base != tc.base || ext != tc.ext {
			t.Errorf("SplitExtension(%q, %q) = %q, %q; want %q, %q", tc.local, tc.delims, base, ext, tc.base, tc.ext)
		}
	}
	if got := withExtension(`"john smith"`, "contoso.com", "+x"); got != `"john smith+x"@contoso.com` {
		t.Errorf("withExtension quoted = %q", got)
	}
}

func TestNormalizeNoAlloc(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() {
		_, _, _ = lookupForm("john.smith+tag@tenanta.contoso.com")
	}); n != 0 {
		t.Errorf("lookupForm of a lower-case ASCII address allocates %v times", n)
	}
}

// flipASCII swaps the case of every ASCII letter.
func flipASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			b[i] = c ^ 0x20
		}
	}
	return string(b)
}

// FuzzNormalize checks the invariant documented in normalize.go: addresses that are equal
// get the same lookup form, and the lookup form is a fixed point.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"john@tenanta.contoso.com", "John.Smith+Tag@TenantA.Contoso.COM.", `"john smith"@bücher.example`,
		"jöhn@XN--BCHER-KVA.example", "a@ab--cd.example", "a@xn--zz.example", `"\"q\""@a.example`,
		"x@ＣＯＮＴＯＳＯ.com", "Jo\u0308hn@a.example", "a@b", "@b", "a@",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		l, d, err := lookupForm(addr)
		// Case of ASCII letters never matters.
		l2, d2, err2 := lookupForm(flipASCII(addr))
		if (err == nil) != (err2 == nil) || l != l2 || d != d2 {
			t.Fatalf("case: %q -> %q@%q %v; flipped -> %q@%q %v", addr, l, d, err, l2, d2, err2)
		}
		if err != nil {
			return
		}
		// Idempotent.
		if l3, d3, err := lookupForm(l + "@" + d); err != nil || l3 != l || d3 != d {
			t.Fatalf("not a fixed point: %q -> %q@%q -> %q@%q %v", addr, l, d, l3, d3, err)
		}
		local, domain, _ := SplitAddress(addr)
		// U-label and A-label match.
		if u, err := idna.Lookup.ToUnicode(d); err == nil {
			if d4, err := NormalizeDomain(u); err != nil || d4 != d {
				t.Fatalf("U-label %q of %q -> %q %v", u, d, d4, err)
			}
		}
		// The ASCII fast path agrees with the IDNA profile.
		if asciiDomainClass(strings.TrimSuffix(domain, ".")) != other {
			a, err := idna.Lookup.ToASCII(strings.ToLower(strings.TrimSuffix(domain, ".")))
			if err != nil || a != d {
				t.Fatalf("fast path %q -> %q; profile -> %q %v", domain, d, a, err)
			}
		}
		// Quoting and Unicode normalisation form of the local part do not matter.
		if isDotAtom(local) {
			if l5 := NormalizeLocal(`"` + local + `"`); l5 != l {
				t.Fatalf("quoted %q -> %q, unquoted -> %q", local, l5, l)
			}
		}
		if l6 := NormalizeLocal(norm.NFD.String(local)); l6 != l && !strings.ContainsAny(local, `"\`) {
			t.Fatalf("NFD of %q -> %q, NFC -> %q", local, l6, l)
		}
	})
}
