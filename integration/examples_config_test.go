package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/edgerewrite/edgerewrite/milter/config"

	"github.com/edgerewrite/edgerewrite/rewrite"
)

// TestExampleFolders checks every postfix-examples folder without Postfix: it has the files a
// reader expects, the index lists it, its edgerewrite.toml passes the daemon's own validation
// (unknown keys, policy) and its rules directory loads (native rules and Exchange CSV alike).
func TestExampleFolders(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", "postfix-examples"))
	if err != nil {
		t.Fatal(err)
	}
	index, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	folders := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		folders++
		dir := filepath.Join(root, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			for _, f := range []string{"README.md", "main.cf", "master.cf", "edgerewrite.toml", "rules"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("missing %s: %v", f, err)
				}
			}
			if !strings.Contains(string(index), "("+e.Name()+"/README.md)") {
				t.Errorf("postfix-examples/README.md does not link %s/README.md", e.Name())
			}
			doc, err := os.ReadFile(filepath.Join(dir, "edgerewrite.toml"))
			if err != nil {
				t.Fatal(err)
			}
			rules := filepath.Join(dir, "rules")
			doc = []byte(strings.ReplaceAll(string(doc), `"/etc/edgerewrite/rules"`, strconv.Quote(rules)))
			cfg, err := config.ParseConfig(filepath.Join(dir, "edgerewrite.toml"), doc)
			if err != nil {
				t.Fatalf("edgerewrite.toml: %v", err)
			}
			if cfg.Listen != config.DefaultListen {
				t.Errorf("listen %q, want the packages' socket %q (main.cf uses unix:edgerewrite/edgerewrite.sock)", cfg.Listen, config.DefaultListen)
			}
			st, err := rewrite.NewTable(rewrite.Options{RecipientDelimiter: cfg.Delimiter()}).Load(cfg.RulesDir)
			if err != nil {
				t.Fatalf("rules: %v", err)
			}
			if st.Rules == 0 {
				t.Errorf("rules directory %s holds no rule", rules)
			}
		})
	}
	if folders < 5 {
		t.Errorf("%d example folders, want the five scenarios", folders)
	}
}
