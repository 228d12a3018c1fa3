package config

import (
	"path/filepath"
	"testing"
)

func TestPolicyFingerprint(t *testing.T) {
	base := "rules_dir = \"rules\"\n[organization]\ndomains = [\"contoso.com\"]\n"
	fp := func(doc string) string {
		t.Helper()
		cfg, err := ParseConfig(filepath.Join("testdata", "config", "x.toml"), []byte(doc))
		if cfg == nil {
			t.Fatalf("%v", err)
		}
		return cfg.PolicyFingerprint()
	}
	a := fp(base)
	if len(a) != 16 {
		t.Fatalf("fingerprint %q, want 16 hex digits", a)
	}
	same := []string{
		"# a comment\n" + base,
		"log_level = \"debug\"\nmetrics_listen = \"127.0.0.1:9999\"\n" + base,
	}
	for _, doc := range same {
		if got := fp(doc); got != a {
			t.Errorf("a change that decides nothing changed the fingerprint:\n%s", doc)
		}
	}
	differ := []string{
		"rules_dir = \"rules\"\n[organization]\ndomains = [\"contoso.com\", \"fabrikam.com\"]\n",
		"rewrite_outbound_to_cc = false\n" + base,
		"observe = true\n" + base,
	}
	for _, doc := range differ {
		if got := fp(doc); got == a {
			t.Errorf("a change of the decisions kept the fingerprint:\n%s", doc)
		}
	}
}
