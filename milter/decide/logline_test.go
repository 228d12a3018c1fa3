package decide

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// logLine renders the message line of out through slog's JSON handler, as the daemon does.
func logLine(t *testing.T, in *Input, out *Outcome) map[string]any {
	t.Helper()
	var b bytes.Buffer
	slog.New(slog.NewJSONHandler(&b, nil)).LogAttrs(context.Background(), slog.LevelInfo, "message", out.LogAttrs(in)...)
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatalf("log line is not JSON: %v\n%s", err, b.String())
	}
	return m
}

// TestLogLineTracksEveryAddress: an accepted message's line names the envelope sender and every
// recipient, before and after, so that a search for any of them finds it.
func TestLogLineTracksEveryAddress(t *testing.T) {
	snap, pol := decideFixtures(t, nil)
	in := Input{QueueID: "4QID", Conn: connTenantA, From: "john@tenanta.contoso.com",
		Rcpts:   []Rcpt{{Addr: "bob@contoso.com"}, {Addr: "x@example.net"}},
		Headers: nil}
	out := Decide(gen(snap, pol), in, testNow)
	l := logLine(t, &in, &out)
	if l["from"] != "john@tenanta.contoso.com" || l["from_new"] != "john@contoso.com" {
		t.Errorf("sender in the log line: from %v, from_new %v", l["from"], l["from_new"])
	}
	want := []any{"bob@contoso.com->bob@tenantb.contoso.com", "x@example.net"}
	if !reflect.DeepEqual(l["rcpts"], want) {
		t.Errorf("rcpts %v, want %v", l["rcpts"], want)
	}
	if l["connector"] != "tenant-a" || l["tenant"] != "tenant-a" || l["verdict"] != "accept" {
		t.Errorf("line %v", l)
	}
}

func FuzzStrListJSON(f *testing.F) {
	f.Add("plain", "quote\" back\\slash")
	f.Add("ctl\x00\x1f\n", "bad\xffutf8 é")
	f.Fuzz(func(t *testing.T, a, b string) {
		got, err := strList{a, b}.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var back []string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q: not JSON: %v", got, err)
		}
		want, _ := json.Marshal([]string{a, b})
		var std []string
		_ = json.Unmarshal(want, &std)
		if !reflect.DeepEqual(back, std) {
			t.Errorf("decoded %q, encoding/json gives %q", back, std)
		}
		if utf8.ValidString(a) && !strings.ContainsRune(a, utf8.RuneError) && back[0] != a {
			t.Errorf("valid UTF-8 %q came back as %q", a, back[0])
		}
	})
}

// FuzzChangeList: a changeList encodes (JSON, text, fmt) exactly as the strList of its
// "field:old->new" strings does, whatever bytes the addresses hold.
func FuzzChangeList(f *testing.F) {
	f.Add("From", "john@tenanta.contoso.com", "john@contoso.com", "rcpt", "a\"b@x", "c\\d@y")
	f.Add("To", "bad\xff\xfe@x", "\xe2\x82", "\xac@y", "ctl\x00\n", "é@z")
	f.Fuzz(func(t *testing.T, f1, o1, n1, f2, o2, n2 string) {
		cl := changeList{{Field: f1, Old: o1, New: n1}, {Field: f2, Old: o2, New: n2}}
		sl := strList{f1 + ":" + o1 + "->" + n1, f2 + ":" + o2 + "->" + n2}
		gotJ, _ := cl.MarshalJSON()
		wantJ, _ := sl.MarshalJSON()
		if !bytes.Equal(gotJ, wantJ) {
			t.Errorf("JSON %q, want %q", gotJ, wantJ)
		}
		gotT, _ := cl.MarshalText()
		wantT, _ := sl.MarshalText()
		if !bytes.Equal(gotT, wantT) {
			t.Errorf("text %q, want %q", gotT, wantT)
		}
		if got, want := cl.String(), fmt.Sprint([]string(sl)); got != want {
			t.Errorf("fmt %q, want %q", got, want)
		}
		if got, _ := changeList(nil).MarshalJSON(); string(got) != "[]" {
			t.Errorf("empty list %q", got)
		}
	})
}
