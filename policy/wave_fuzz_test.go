package policy

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/rewrite"
)

// FuzzParseWaveFile: parsing never panics; every problem names a line of the file; the entries
// written back as a cutover list file parse to the same entries.
func FuzzParseWaveFile(f *testing.F) {
	f.Add([]byte("match,action,start,end,text\nanna@fabrikam.com,hold,2026-11-23T20:00:00Z,2026-11-24T06:00:00Z\n"))
	f.Add([]byte("# c\n*.fabrikam.com,defer,,,\"moving, later\"\nbob@bücher.example,HOLD\n"))
	f.Add([]byte("a@b,\"hold\n,x\"\n\"unterminated\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, errs := parseWaveFile("w.cutover", "w.cutover", b)
		lines := bytes.Count(b, []byte("\n")) + 1
		for _, e := range errs {
			var fe *FileError
			if !errors.As(e, &fe) || fe.Line < 0 || fe.Line > lines {
				t.Fatalf("problem %v: not a FileError within the %d lines", e, lines)
			}
		}
		if len(errs) > rewrite.MaxFileProblems+1 {
			t.Fatalf("%d problems reported", len(errs))
		}
		if len(errs) > 0 {
			return
		}
		var out bytes.Buffer
		w := csv.NewWriter(&out)
		for _, c := range entries {
			if c.line < 1 || c.line > lines {
				t.Fatalf("entry at line %d of %d", c.line, lines)
			}
			w.Write([]string{c.match, action(c), timeCol(c.start), timeCol(c.end), c.text})
		}
		w.Flush()
		again, errs := parseWaveFile("w.cutover", "w.cutover", out.Bytes())
		if len(errs) > 0 || len(again) != len(entries) {
			t.Fatalf("written back:\n%s\nparsed to %d entries, %v", out.String(), len(again), errs)
		}
		for i, c := range entries {
			d := again[i]
			if d.match != c.match || d.hold != c.hold || d.text != c.text || !d.start.Equal(c.start) || !d.end.Equal(c.end) {
				t.Fatalf("entry %d: %+v written back became %+v", i, c, d)
			}
		}
	})
}

func action(c *cutover) string {
	if c.hold {
		return "hold"
	}
	return "defer"
}

func timeCol(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

// BenchmarkWaveLoad100k parses and indexes a cutover list file of 100,000 addresses, as a
// reload that changed it does.
func BenchmarkWaveLoad100k(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("match,action,start,end,text\n")
	for i := range 100_000 {
		fmt.Fprintf(&sb, "user%d@fabrikam.com,hold,2026-11-23T20:00:00Z,2026-11-24T06:00:00Z\n", i)
	}
	data := []byte(sb.String())
	p := load(b, "two-tenants.toml")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		entries, errs := parseWaveFile("w.cutover", "w.cutover", data)
		if len(errs) > 0 || len(entries) != 100_000 {
			b.Fatal(errs)
		}
		if _, err := p.WithWaves(&Waves{files: []*waveFile{{path: "w.cutover", entries: entries}}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWaveReindex100k indexes 100,000 parsed entries again, as a reload that changed only
// the config does (unchanged files are not parsed again).
func BenchmarkWaveReindex100k(b *testing.B) {
	var sb strings.Builder
	for i := range 100_000 {
		fmt.Fprintf(&sb, "user%d@fabrikam.com,hold\n", i)
	}
	entries, errs := parseWaveFile("w.cutover", "w.cutover", []byte(sb.String()))
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	w := &Waves{files: []*waveFile{{path: "w.cutover", entries: entries}}}
	p := load(b, "two-tenants.toml")
	for b.Loop() {
		if _, err := p.WithWaves(w); err != nil {
			b.Fatal(err)
		}
	}
}
