package policy

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// daemonConfig mimics how milter.Config embeds Config: the policy keys are top-level keys of the
// daemon's file, decoded strictly.
type daemonConfig struct {
	Listen string `toml:"listen"`
	Config
}

// decodeFile decodes a testdata TOML file the way the daemon does (unknown keys are errors).
func decodeFile(t testing.TB, name string) Config {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var dc daemonConfig
	dec := toml.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&dc); err != nil {
		var sm *toml.StrictMissingError
		if errors.As(err, &sm) {
			t.Fatalf("%s: %s", name, sm.String())
		}
		t.Fatalf("%s: %v", name, err)
	}
	return dc.Config
}

// load decodes a testdata file and compiles it, failing the test on any error.
func load(t testing.TB, name string, edit ...func(*Config)) *Policy {
	t.Helper()
	cfg := decodeFile(t, name)
	for _, e := range edit {
		e(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return p
}

// at parses an RFC 3339 time for tests.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
