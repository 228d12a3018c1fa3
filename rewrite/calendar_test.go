package rewrite

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// calendarSnapshot loads testdata/calendar/rules: the real table, so that the calendar is
// rewritten with the same rules and precedence as header addresses.
func calendarSnapshot(tb testing.TB) *Snapshot {
	tb.Helper()
	t := NewTable(Options{RecipientDelimiter: "+"})
	if _, err := t.Load("testdata/calendar/rules"); err != nil {
		tb.Fatal(err)
	}
	return t.Snapshot()
}

// readCalendarMessage reads testdata/calendar/name and splits it into top-level header fields
// and body; lf turns every CRLF into LF first.
func readCalendarMessage(tb testing.TB, name string, lf bool) ([]Header, []byte) {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata/calendar", name))
	if err != nil {
		tb.Fatal(err)
	}
	if lf {
		raw = bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
	}
	r := bytes.NewReader(raw)
	br := bufio.NewReader(r)
	th, err := textproto.ReadHeader(br)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	var hs []Header
	for f := th.Fields(); f.Next(); {
		hs = append(hs, Header{Name: f.Key(), Value: " " + f.Value()})
	}
	return hs, raw[len(raw)-r.Len()-br.Buffered():]
}

// calendarCase is one message of testdata/calendar and what rewriting it must give.
type calendarCase struct {
	name, file string
	dirs       []Direction
	opts       CalendarOptions
	// want: "part property old new" for each change, in body order.
	want []string
	err  error
}

var calendarCases = []calendarCase{
	{name: "outlook reply base64", file: "outlook-reply.eml", dirs: []Direction{Outbound}, want: []string{
		"3 ATTENDEE juergen.mueller@tenanta.contoso.com juergen.mueller@contoso.com",
	}},
	{name: "outlook request quoted-printable", file: "outlook-request.eml", dirs: []Direction{Outbound}, want: []string{
		"3 ORGANIZER john@tenanta.contoso.com john@contoso.com",
		"3 ATTENDEE jane@tenantb.contoso.com jane@contoso.com",
		"3 ATTENDEE juergen.mueller@tenanta.contoso.com juergen.mueller@contoso.com",
		"3 attendee Room1@TenantA.Contoso.COM Room1@contoso.com",
		"3 ATTENDEE bob.builder-with-a-rather-long-local-part@tenantb.contoso.com bob.builder-with-a-rather-long-local-part@contoso.com",
	}},
	{name: "hairpin tries outbound then inbound", file: "outlook-request.eml", dirs: []Direction{Outbound, Inbound}, want: []string{
		"3 ORGANIZER john@tenanta.contoso.com john@contoso.com",
		"3 ATTENDEE jane@tenantb.contoso.com jane@contoso.com",
		"3 ATTENDEE juergen.mueller@tenanta.contoso.com juergen.mueller@contoso.com",
		"3 attendee Room1@TenantA.Contoso.COM Room1@contoso.com",
		"3 ATTENDEE bob.builder-with-a-rather-long-local-part@tenantb.contoso.com bob.builder-with-a-rather-long-local-part@contoso.com",
		"3 ATTENDEE lisa@contoso.com lisa@tenanta.contoso.com",
	}},
	{name: "inbound", file: "outlook-request.eml", dirs: []Direction{Inbound}, want: []string{
		"3 ATTENDEE lisa@contoso.com lisa@tenanta.contoso.com",
	}},
	{name: "no rule matches", file: "outlook-request.eml"},
	{name: "mixed: 7bit alternative and ics attachment, the rest left alone", file: "forward-mixed.eml", dirs: []Direction{Outbound}, want: []string{
		"1.2 ORGANIZER john@tenanta.contoso.com john@contoso.com",
		"1.2 ATTENDEE jane@tenantb.contoso.com jane@contoso.com",
		"1.2 ATTENDEE sam@tenanta.contoso.com sam@contoso.com",
		"2 ORGANIZER john@tenanta.contoso.com john@contoso.com",
		"2 ATTENDEE jane@tenantb.contoso.com jane@contoso.com",
		"2 ATTENDEE sam@tenanta.contoso.com sam@contoso.com",
	}},
	{name: "top-level calendar, 8bit, long and UTF-8 lines", file: "calendar-only.eml", dirs: []Direction{Outbound}, want: []string{
		"1 ORGANIZER juergen.mueller@tenanta.contoso.com juergen.mueller@contoso.com",
		"1 ATTENDEE juergen.mueller@tenanta.contoso.com juergen.mueller@contoso.com",
		"1 ATTENDEE ÜNAL@tenanta.contoso.com ÜNAL@contoso.com",
	}},
	{name: "no closing delimiter", file: "broken-no-close.eml", dirs: []Direction{Outbound}, err: ErrMalformedMIME},
	{name: "over the size limit", file: "outlook-request.eml", dirs: []Direction{Outbound}, opts: CalendarOptions{MaxBytes: 1000}, err: ErrCalendarTooLarge},
	{name: "nested deeper than allowed", file: "forward-mixed.eml", dirs: []Direction{Outbound}, opts: CalendarOptions{MaxDepth: 1}, err: ErrMIMETooDeep},
}

func TestRewriteCalendar(t *testing.T) {
	snap := calendarSnapshot(t)
	for _, c := range calendarCases {
		for _, lf := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/lf=%v", c.name, lf), func(t *testing.T) {
				hs, body := readCalendarMessage(t, c.file, lf)
				orig := bytes.Clone(body)
				if !CalendarCandidate(hs) {
					t.Fatalf("CalendarCandidate says no to %s", c.file)
				}
				res, err := RewriteCalendar(hs, body, LookupAddresses(snap, c.dirs...), c.opts)
				if !bytes.Equal(body, orig) {
					t.Fatal("the input body was modified in place")
				}
				if c.err != nil || err != nil {
					if !errors.Is(err, c.err) {
						t.Fatalf("error %v, want %v", err, c.err)
					}
					if !bytes.Equal(res.Body, body) || res.Changed() {
						t.Fatalf("error %v but body changed (%d changes)", err, len(res.Changes))
					}
					return
				}
				var got []string
				for _, ch := range res.Changes {
					got = append(got, strings.Join([]string{ch.Part, ch.Property, ch.Old, ch.New}, " "))
					if ch.Rule == nil {
						t.Errorf("change %s %s has no rule", ch.Part, ch.Old)
					}
				}
				if !reflect.DeepEqual(got, c.want) {
					t.Fatalf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
				}
				if len(c.want) == 0 && !bytes.Equal(res.Body, body) {
					t.Fatal("nothing changed but the body differs")
				}
				checkCalendarBody(t, hs, body, res.Body, c.want)
			})
		}
	}
}

// checkCalendarBody checks out against in with go-message's multipart reader as the oracle:
// the same parts with the same headers; only calendar parts differ in their raw content, and
// nothing else of the body; a changed calendar part decodes to the same content lines as
// before, byte for byte and fold for fold, except the ORGANIZER and ATTENDEE lines with an
// address of want, whose value is the new address and whose physical lines are at most 75
// octets of valid UTF-8.
func checkCalendarBody(t *testing.T, hs []Header, in, out []byte, want []string) {
	t.Helper()
	top := topHeader(hs).Header
	a, b := oracleParts(t, top, in, ""), oracleParts(t, top, out, "")
	if len(a) != len(b) {
		t.Fatalf("%d parts before, %d after", len(a), len(b))
	}
	repl := map[string]string{} // "part old" -> new
	for _, w := range want {
		f := strings.Fields(w)
		repl[f[0]+" "+f[2]] = f[3]
	}
	expect := bytes.Clone(in)
	for i := range a {
		pa, pb := a[i], b[i]
		if pa.path != pb.path || renderHeader(t, pa.header) != renderHeader(t, pb.header) {
			t.Fatalf("part %s (%q) became part %s (%q)", pa.path, renderHeader(t, pa.header), pb.path, renderHeader(t, pb.header))
		}
		if bytes.Equal(pa.raw, pb.raw) {
			continue
		}
		mt, _, _ := (&message.Header{Header: pa.header}).ContentType()
		if !isCalendarType(mt) || pa.frozen {
			t.Fatalf("part %s (%s) changed", pa.path, mt)
		}
		if n := bytes.Count(expect, pa.raw); n != 1 {
			t.Fatalf("part %s content found %d times in the body", pa.path, n)
		}
		expect = bytes.Replace(expect, pa.raw, pb.raw, 1)
		checkEncodedLayout(t, pa, pb)
		la := icalLines(decodePart(t, pa))
		lb := icalLines(decodePart(t, pb))
		if len(la) != len(lb) {
			t.Fatalf("part %s: %d content lines before, %d after", pa.path, len(la), len(lb))
		}
		for j := range la {
			exp := la[j].unfolded
			if addr, at, ok := oracleCalAddress(exp); ok {
				if n, ok := repl[pa.path+" "+addr]; ok {
					exp = exp[:at] + n + exp[at+len(addr):]
				}
			}
			if exp == la[j].unfolded {
				if la[j].raw != lb[j].raw {
					t.Errorf("part %s: unrewritten line changed:\n%q\n%q", pa.path, la[j].raw, lb[j].raw)
				}
				continue
			}
			if lb[j].unfolded != exp {
				t.Errorf("part %s: line\n%q\nbecame\n%q\nwant\n%q", pa.path, la[j].unfolded, lb[j].unfolded, exp)
			}
			for _, pl := range strings.Split(strings.ReplaceAll(lb[j].raw, "\r\n", "\n"), "\n") {
				if (len(pl) > 75 && !strings.HasPrefix(la[j].raw, pl)) || !utf8.ValidString(pl) {
					t.Errorf("part %s: rewritten line badly folded: %q", pa.path, pl)
				}
			}
		}
	}
	if !bytes.Equal(expect, out) {
		t.Fatal("bytes outside the calendar parts changed")
	}
}

// checkEncodedLayout checks that a re-encoded part looks like the original: base64 lines as
// long as the original's and the same white space at the end; quoted-printable lines of at
// most 76 characters (RFC 2045 §6.7).
func checkEncodedLayout(t *testing.T, a, b oraclePart) {
	t.Helper()
	lines := func(raw []byte) []string {
		return strings.Split(strings.ReplaceAll(strings.TrimRight(string(raw), "\r\n"), "\r\n", "\n"), "\n")
	}
	trail := func(raw []byte) string { return string(raw[len(bytes.TrimRight(raw, " \t\r\n")):]) }
	switch strings.ToLower(a.header.Get("Content-Transfer-Encoding")) {
	case "base64":
		la, lb := lines(a.raw), lines(b.raw)
		for i, l := range lb[:len(lb)-1] {
			if len(l) != len(la[0]) {
				t.Errorf("part %s: base64 line %d is %d long, the original's %d", a.path, i+1, len(l), len(la[0]))
			}
		}
		if trail(a.raw) != trail(b.raw) {
			t.Errorf("part %s: ends in %q, the original in %q", a.path, trail(b.raw), trail(a.raw))
		}
	case "quoted-printable":
		for i, l := range lines(b.raw) {
			if len(l) > 76 {
				t.Errorf("part %s: quoted-printable line %d is %d long", a.path, i+1, len(l))
			}
		}
	}
}

// oraclePart is one leaf entity as go-message's multipart reader sees it.
type oraclePart struct {
	path   string
	header textproto.Header
	raw    []byte
	// frozen: inside multipart/signed or multipart/encrypted.
	frozen bool
}

func oracleParts(t *testing.T, h textproto.Header, body []byte, path string) []oraclePart {
	t.Helper()
	mt, params, err := (&message.Header{Header: h}).ContentType()
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		if path == "" {
			path = "1"
		}
		return []oraclePart{{path: path, header: h, raw: body}}
	}
	var parts []oraclePart
	mr := textproto.NewMultipartReader(bytes.NewReader(body), params["boundary"])
	for i := 1; ; i++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("oracle: part %s: %v", path, err)
		}
		raw, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("oracle: part %s.%d: %v", path, i, err)
		}
		sub := fmt.Sprint(i)
		if path != "" {
			sub = path + "." + sub
		}
		for _, op := range oracleParts(t, p.Header, raw, sub) {
			op.frozen = op.frozen || isSealed(mt)
			parts = append(parts, op)
		}
	}
	return parts
}

func renderHeader(t *testing.T, h textproto.Header) string {
	var b bytes.Buffer
	if err := textproto.WriteHeader(&b, h); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func decodePart(t *testing.T, p oraclePart) string {
	t.Helper()
	e, err := message.New(message.Header{Header: p.header}, bytes.NewReader(p.raw))
	if err != nil {
		t.Fatalf("oracle: part %s: %v", p.path, err)
	}
	b, err := io.ReadAll(e.Body)
	if err != nil {
		t.Fatalf("oracle: part %s: %v", p.path, err)
	}
	return string(b)
}

// icalLine is a content line as written (folds and line break included) and unfolded.
type icalLine struct{ raw, unfolded string }

func icalLines(s string) []icalLine {
	var ls []icalLine
	for len(s) > 0 {
		n := 0
		for {
			nl := strings.IndexByte(s[n:], '\n')
			if nl < 0 {
				n = len(s)
				break
			}
			n += nl + 1
			if n >= len(s) || (s[n] != ' ' && s[n] != '\t') {
				break
			}
		}
		raw := s[:n]
		u := strings.TrimRight(raw, "\r\n")
		for _, fold := range []string{"\r\n ", "\r\n\t", "\n ", "\n\t"} {
			u = strings.ReplaceAll(u, fold, "")
		}
		ls = append(ls, icalLine{raw: raw, unfolded: u})
		s = s[n:]
	}
	return ls
}

// oracleCalAddress returns the address after the last "mailto:" (any case) of an unfolded
// line, and where it starts, if the property name is ORGANIZER or ATTENDEE.
func oracleCalAddress(l string) (addr string, at int, ok bool) {
	name, _, _ := strings.Cut(l, ":")
	name, _, _ = strings.Cut(name, ";")
	if !strings.EqualFold(name, "ORGANIZER") && !strings.EqualFold(name, "ATTENDEE") {
		return "", 0, false
	}
	i := strings.LastIndex(strings.ToLower(l), "mailto:")
	if i < 0 {
		return "", 0, false
	}
	return l[i+7:], i + 7, true
}

func TestCalendarCandidate(t *testing.T) {
	for _, c := range []struct {
		ct   string
		want bool
	}{
		{" multipart/alternative;\r\n\tboundary=\"_000_x_\"", true},
		{"Multipart/Mixed; boundary=x", true},
		{"multipart/related; boundary=x", true},
		{" text/calendar; method=REQUEST", true},
		{"application/ics", true},
		{"multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=x", false},
		{"multipart/encrypted; boundary=x", false},
		{"application/pkcs7-mime; smime-type=enveloped-data", false},
		{" text/plain; charset=utf-8", false},
		{"text/html", false},
		{"message/rfc822", false},
		{"application/ms-tnef", false},
		{"multipart/", false},
		{"", false},
	} {
		var hs []Header
		if c.ct != "" {
			hs = []Header{{Name: "Subject", Value: " x"}, {Name: "content-type", Value: c.ct}}
		}
		if got := CalendarCandidate(hs); got != c.want {
			t.Errorf("CalendarCandidate(%q) = %v, want %v", c.ct, got, c.want)
		}
	}
}

// TestRewriteCalendarBadAnswer: an answer that cannot stand after mailto: leaves the address.
func TestRewriteCalendarBadAnswer(t *testing.T) {
	hs := []Header{{Name: "Content-Type", Value: " text/calendar"}}
	body := []byte("BEGIN:VCALENDAR\r\nATTENDEE:mailto:a@tenanta.contoso.com\r\nEND:VCALENDAR\r\n")
	for _, n := range []string{"nodomain", "a b@contoso.com", "a@contoso.com\r\nX:1", `a"@contoso.com`, "ä@contoso.com", "\xff@contoso.com"} {
		rw := func(string) (string, *Rule, bool) { return n, &Rule{}, true }
		res, err := RewriteCalendar(hs, body, rw, CalendarOptions{})
		if err != nil || res.Changed() || !bytes.Equal(res.Body, body) {
			t.Errorf("answer %q: changed=%v err=%v body %q", n, res.Changed(), err, res.Body)
		}
	}
}

func TestAppendFolded(t *testing.T) {
	for _, c := range []struct {
		col  int
		s    string
		want string
	}{
		{col: 70, s: "abcde", want: "abcde"},
		{col: 70, s: "abcdef", want: "abcde\r\n f"},
		{col: 72, s: "xü", want: "xü"},
		{col: 73, s: "xü", want: "x\r\n ü"},
		{col: 0, s: strings.Repeat("a", 80), want: strings.Repeat("a", 75) + "\r\n " + "aaaaa"},
		{col: 80, s: "a", want: "\r\n a"},
	} {
		if got := string(appendFolded(nil, []byte(c.s), c.col, []byte("\r\n"))); got != c.want {
			t.Errorf("appendFolded(%d, %q) = %q, want %q", c.col, c.s, got, c.want)
		}
	}
}

func FuzzRewriteCalendar(f *testing.F) {
	for _, c := range calendarCases {
		for _, lf := range []bool{false, true} {
			hs, body := readCalendarMessage(f, c.file, lf)
			th := topHeader(hs)
			f.Add(th.Get("Content-Type"), th.Get("Content-Transfer-Encoding"), body)
		}
	}
	f.Add("text/calendar", "quoted-printable", []byte("ATTENDEE:mailto:a@b=\r\n.c\r\n"))
	f.Add("text/calendar", "base64", []byte("QVRURU5ERUU6bWFpbHRvOmFAYi5j\n"))
	f.Add("multipart/mixed; boundary=b", "", []byte("--b\n\nATTENDEE:mailto:a@b\n--b--\n"))
	const fixed = "fixed@example.com"
	f.Fuzz(func(t *testing.T, ct, cte string, body []byte) {
		hs := []Header{{Name: "Content-Type", Value: ct}, {Name: "Content-Transfer-Encoding", Value: cte}}
		none := func(a string) (string, *Rule, bool) { return a, nil, false }
		res, err := RewriteCalendar(hs, body, none, CalendarOptions{})
		if res.Changed() || !bytes.Equal(res.Body, body) {
			t.Fatalf("no rule matched but the body changed (err %v)", err)
		}
		self := func(a string) (string, *Rule, bool) { return a, nil, true }
		if res, err2 := RewriteCalendar(hs, body, self, CalendarOptions{}); res.Changed() || !bytes.Equal(res.Body, body) || (err == nil) != (err2 == nil) {
			t.Fatalf("identity rewrite changed the body (%v, %v)", err, err2)
		}
		all := func(a string) (string, *Rule, bool) { return fixed, nil, true }
		res, err = RewriteCalendar(hs, body, all, CalendarOptions{})
		if err != nil || !res.Changed() {
			return
		}
		// Rewritten once, every address is the fixed one: a second pass finds the same
		// structure and lines, and changes nothing.
		again, err := RewriteCalendar(hs, res.Body, all, CalendarOptions{})
		if err != nil || again.Changed() {
			t.Fatalf("second pass: err %v, %d changes, e.g. %+v", err, len(again.Changes), again.Changes)
		}
		cnt, err := RewriteCalendar(hs, res.Body, func(a string) (string, *Rule, bool) { return a + ".x", nil, true }, CalendarOptions{})
		if err != nil || len(cnt.Changes) != len(res.Changes) {
			t.Fatalf("rewritten body has %d calendar addresses (%v), the original %d", len(cnt.Changes), err, len(res.Changes))
		}
	})
}

func TestAppendQP(t *testing.T) {
	crlf, lf := []byte("\r\n"), []byte("\n")
	for _, c := range []struct {
		t    string
		eol  []byte
		want string
	}{
		{"ATTENDEE;CN=Jürgen:mailto:a@b\r\n", crlf, "ATTENDEE;CN=3DJ=C3=BCrgen:mailto:a@b\r\n"},
		{"a \r\nb\t", crlf, "a=20\r\nb=09"},
		{"a\nb\rc\r\n", crlf, "a=0Ab=0Dc\r\n"},
		{"a\nb\r\n", lf, "a\nb=0D\n"},
		{strings.Repeat("x", 80) + "\n", lf, strings.Repeat("x", 75) + "=\nxxxxx\n"},
		{strings.Repeat("x", 74) + "=", crlf, strings.Repeat("x", 74) + "=\r\n=3D"},
	} {
		got := string(appendQP(nil, []byte(c.t), c.eol))
		if got != c.want {
			t.Errorf("appendQP(%q) = %q, want %q", c.t, got, c.want)
		}
		if dec, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(got))); err != nil || string(dec) != c.t {
			t.Errorf("%q decodes to %q (%v), want %q", got, dec, err, c.t)
		}
	}
}

// TestRewriteCalendarEdges: small bodies for the corners of folding, encodings and MIME
// structure. out "" means the body must come back unchanged.
func TestRewriteCalendarEdges(t *testing.T) {
	snap := calendarSnapshot(t)
	for _, c := range []struct {
		name, ct, cte string
		in, out       string
		err           error
	}{
		{name: "address after a fold keeps the fold", ct: "text/calendar",
			in:  "ATTENDEE;CN=X:mailto:\r\n a@tenanta.contoso.com\r\nEND:VCALENDAR\r\n",
			out: "ATTENDEE;CN=X:mailto:\r\n a@contoso.com\r\nEND:VCALENDAR\r\n"},
		{name: "fold inside the address goes when no longer needed", ct: "text/calendar",
			in:  "ATTENDEE:mailto:a@ten\r\n anta.contoso.com\r\nEND:VCALENDAR\r\n",
			out: "ATTENDEE:mailto:a@contoso.com\r\nEND:VCALENDAR\r\n"},
		{name: "tab fold, LF endings", ct: "text/calendar",
			in:  "ORGA\n\tNIZER:MailTo:a@tenanta.contoso.com\nEND:VCALENDAR\n",
			out: "ORGA\n\tNIZER:MailTo:a@contoso.com\nEND:VCALENDAR\n"},
		{name: "no final line break, trailing space kept", ct: "text/calendar",
			in:  "ORGANIZER:mailto:a@tenanta.contoso.com  ",
			out: "ORGANIZER:mailto:a@contoso.com  "},
		{name: "quoted-printable with an encoded line feed is re-encoded whole", ct: "text/calendar", cte: "quoted-printable",
			in:  "X-A:=3D\r\nATTENDEE:mailto:a@tenanta.contoso.com=0AX-B:1\r\n",
			out: "X-A:=3D\r\nATTENDEE:mailto:a@contoso.com=0AX-B:1\r\n"},
		{name: "quoted-printable soft break inside the line", ct: "text/calendar", cte: "quoted-printable",
			in:  "X-A:1\r\nATTENDEE;CN=3DX:mai=\r\nlto:a@tenanta.contoso.com\r\nX-B:2=\r\n\r\n",
			out: "X-A:1\r\nATTENDEE;CN=3DX:mailto:a@contoso.com\r\nX-B:2=\r\n\r\n"},
		{name: "base64 on one line stays on one line", ct: "application/ics", cte: "base64",
			in:  "QVRURU5ERUU6bWFpbHRvOmFAdGVuYW50YS5jb250b3NvLmNvbQ0K",
			out: "QVRURU5ERUU6bWFpbHRvOmFAY29udG9zby5jb20NCg=="},
		{name: "UTF-16 calendar left alone", ct: "text/calendar; charset=UTF-16LE",
			in: "ATTENDEE:mailto:a@tenanta.contoso.com\r\n"},
		{name: "unknown transfer encoding left alone", ct: "text/calendar", cte: "x-uuencode",
			in: "ATTENDEE:mailto:a@tenanta.contoso.com\r\n"},
		{name: "bad base64", ct: "text/calendar", cte: "base64", in: "QVRURU5ERUU6b!!\r\n", err: ErrMalformedMIME},
		{name: "part with a broken header left alone, the next one rewritten", ct: "multipart/mixed; boundary=b",
			in: "--b\r\nnot a header\r\n\r\nATTENDEE:mailto:a@tenanta.contoso.com\r\n" +
				"--b\r\nContent-Type: text/calendar\r\n\r\nATTENDEE:mailto:a@tenanta.contoso.com\r\n--b--\r\n",
			out: "--b\r\nnot a header\r\n\r\nATTENDEE:mailto:a@tenanta.contoso.com\r\n" +
				"--b\r\nContent-Type: text/calendar\r\n\r\nATTENDEE:mailto:a@contoso.com\r\n--b--\r\n"},
		{name: "delimiter at the very start, no line break before the closing one", ct: "multipart/mixed; boundary=b",
			in:  "--b \r\nContent-Type: text/calendar\r\n\r\nATTENDEE:mailto:a@tenanta.contoso.com\r\n--b--",
			out: "--b \r\nContent-Type: text/calendar\r\n\r\nATTENDEE:mailto:a@contoso.com\r\n--b--"},
		{name: "a line starting like the delimiter", ct: "multipart/mixed; boundary=b",
			in:  "--b\r\nContent-Type: text/calendar\r\n\r\nATTENDEE:mailto:a@tenanta.contoso.com\r\n--bx\r\n--b--\r\n",
			err: ErrMalformedMIME},
		{name: "multipart without boundary", ct: "multipart/mixed", in: "--b\r\n\r\n--b--\r\n", err: ErrMalformedMIME},
		{name: "only a preamble", ct: "multipart/mixed; boundary=b", in: "hello\r\n", err: ErrMalformedMIME},
	} {
		t.Run(c.name, func(t *testing.T) {
			hs := []Header{{Name: "Content-Type", Value: " " + c.ct}}
			if c.cte != "" {
				hs = append(hs, Header{Name: "Content-Transfer-Encoding", Value: " " + c.cte})
			}
			res, err := RewriteCalendar(hs, []byte(c.in), LookupAddresses(snap, Outbound), CalendarOptions{})
			if !errors.Is(err, c.err) || (c.err == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, c.err)
			}
			want := c.out
			if want == "" {
				want = c.in
			}
			if string(res.Body) != want || res.Changed() != (c.out != "") {
				t.Fatalf("got (changed=%v)\n%q\nwant\n%q", res.Changed(), res.Body, want)
			}
		})
	}
}

// TestRewriteCalendar7bit: an 8-bit address goes into an 8bit part but not into a 7bit one.
func TestRewriteCalendar7bit(t *testing.T) {
	rw := func(string) (string, *Rule, bool) { return "jürgen@contoso.com", &Rule{}, true }
	body := []byte("ATTENDEE:mailto:juergen@tenanta.contoso.com\r\n")
	for cte, want := range map[string]bool{"7bit": false, "": false, "8bit": true, "quoted-printable": true} {
		hs := []Header{{Name: "Content-Type", Value: " text/calendar"}, {Name: "Content-Transfer-Encoding", Value: " " + cte}}
		res, err := RewriteCalendar(hs, body, rw, CalendarOptions{})
		if err != nil || res.Changed() != want {
			t.Errorf("%q: changed=%v err=%v, want changed=%v", cte, res.Changed(), err, want)
		}
	}
}
