package policy

import (
	"strings"
	"testing"
	"time"
)

// FuzzDomainPattern checks that a configured domain, written as a pattern or not, compares in
// the form rewrite gives it, and that the form is a fixed point.
func FuzzDomainPattern(f *testing.F) {
	for _, s := range []string{"contoso.com", "Contoso.COM.", "bücher.example", "XN--BCHER-KVA.example", "ｃｏｎｔｏｓｏ.com",
		"a..b", ".a", "[192.0.2.1]", "xn--", "ß.de", "*.contoso.com", strings.Repeat("a", 64) + ".com", "-a.com", "a_b.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dom, wild, err := parseDomainPattern(s)
		if err != nil {
			return
		}
		if again, err := configDomain(dom); err != nil || again != dom {
			t.Errorf("parseDomainPattern(%q) = %q, but configDomain(%q) = %q, %v", s, dom, dom, again, err)
		}
		if d := domainOf("x@" + strings.TrimPrefix(strings.TrimSpace(s), "*.")); d.norm != dom {
			t.Errorf("parseDomainPattern(%q) = %q, but a message address in it has domain %q", s, dom, d.norm)
		}
		back, wild2, err := parseDomainPattern(patternString(dom, wild))
		if err != nil || back != dom || wild2 != wild {
			t.Errorf("parseDomainPattern(%q) = %q, %v; its pattern string gives %q, %v, %v", s, dom, wild, back, wild2, err)
		}
	})
}

func FuzzConfigAddr(f *testing.F) {
	for _, s := range []string{"john@contoso.com", "John.Doe@Bücher.example", `"a b"@x.com`, "a@b@c.com", "@x.com", "x@", "<x@y.com>",
		"x @y.com", "x+tag@y.com", "x@[1.2.3.4]"} {
		f.Add(s, "+")
	}
	f.Fuzz(func(t *testing.T, s, delims string) {
		key, err := parseConfigAddr(s)
		if err != nil {
			return
		}
		set := addrSet{addrs: map[string]struct{}{key: {}}, delims: delims}
		if !set.has(s) {
			t.Errorf("parseConfigAddr(%q) = %q, but the set does not match the address itself", s, key)
		}
		if up := asciiUpper(s); !set.has(up) {
			t.Errorf("%q: set does not match %q", s, up)
		}
		if again, err := parseConfigAddr(key); err != nil || again != key {
			t.Errorf("parseConfigAddr(%q) = %q, but parseConfigAddr(%q) = %q, %v", s, key, key, again, err)
		}
	})
}

func FuzzReplySafe(f *testing.F) {
	for _, s := range []string{"", "fabrikam.com", "a%b", "x\r\ny", "bücher", strings.Repeat("x", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := replySafe(s)
		if len(out) > maxReplyValue+3 {
			t.Errorf("replySafe(%q) is %d bytes", s, len(out))
		}
		for i := 0; i < len(out); i++ {
			if out[i] < ' ' || out[i] > '~' || out[i] == '%' {
				t.Fatalf("replySafe(%q) = %q holds %q", s, out, out[i])
			}
		}
	})
}

// FuzzDecisions runs Message and Recipient on arbitrary envelope and header values: no panic,
// and every reply is one well-formed SMTP reply line a milter may send.
func FuzzDecisions(f *testing.F) {
	p := load(f, "two-tenants.toml", func(c *Config) {
		c.RecipientDelimiter = "+"
		c.Organization.PilotSenders = []string{"john@tenanta.contoso.com", "@tenantb.contoso.com"}
	})
	f.Add("john@tenanta.contoso.com", "nobody@contoso.com", "John <john@tenanta.contoso.com>", tenantAID, uint8(1), int64(0))
	f.Add("", "ceo@tenantb.contoso.com", "MAILER-DAEMON", "", uint8(0), int64(1795464000))
	f.Add("x@evil%.com", "x%y@contoso.com", "<>", "{"+tenantAID+"}", uint8(2), int64(-1))
	f.Add("a@b@c", `"a@b"@contoso.edu`, "\r\n", "x", uint8(3), int64(1795478400))
	classes := []Class{testClasses["internet"], testClasses["a"], testClasses["b"], testClasses["onprem"]}
	f.Fuzz(func(t *testing.T, from, rcpt, hdrFrom, id string, class uint8, unix int64) {
		cl := classes[int(class)%len(classes)]
		now := time.Unix(unix, 0)
		check := func(what string, v Verdict) {
			if r := v.Reply(); r != "" {
				if strings.ContainsAny(r, "\r\n") || r[0] != v.Status[0] || len(r) > 510 {
					t.Errorf("%s: bad reply %q", what, r)
				}
			}
		}
		for _, resolved := range []bool{false, true} {
			res := p.Recipient(cl, rcpt, resolved, now)
			check("Recipient", res.Verdict)
			if res.Route != "" && (res.Verdict.Action != Accept || !strings.HasSuffix(res.Route, "@live.contoso.edu")) {
				t.Errorf("Recipient(%q) routes to %q with %v", rcpt, res.Route, res.Verdict)
			}
		}
		m := Message{From: from, Rcpts: []string{rcpt}, Fields: fields("From:"+hdrFrom, "Sender:"+hdrFrom, "Resent-From:"+hdrFrom), CrossTenantIDs: []string{id}}
		res := p.Message(cl, m, now)
		check("Message", res.Verdict)
		if res.RewriteSender && (!cl.Outbound || res.Verdict.Action == Reject || res.Verdict.Action == Tempfail) {
			t.Errorf("Message rewrites the sender with %v for %+v", res.Verdict, cl)
		}
	})
}

// asciiUpper upper-cases ASCII letters only (Unicode case mapping does not round-trip).
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
