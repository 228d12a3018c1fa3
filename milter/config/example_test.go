package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// examplePath is the commented config the packages install as /etc/edgerewrite/edgerewrite.toml.
var examplePath = filepath.Join("..", "..", "packaging", "edgerewrite.toml")

// exampleDoc returns the example config with rules_dir pointed at dir (the default,
// /etc/edgerewrite/rules, need not exist on a test machine) and, when uncomment is set, every
// commented-out setting ("#key = value", "#[table]") put in effect.
func exampleDoc(t *testing.T, dir string, uncomment bool) []byte {
	t.Helper()
	doc, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	rulesLine := regexp.MustCompile(`(?m)^#rules_dir = .*$`)
	if !rulesLine.MatchString(s) {
		t.Fatal("the example has no #rules_dir line")
	}
	s = rulesLine.ReplaceAllString(s, `rules_dir = "`+dir+`"`)
	if uncomment {
		s = regexp.MustCompile(`(?m)^#([^\s#-])`).ReplaceAllString(s, "$1")
	}
	return []byte(s)
}

func TestExampleConfigAsShipped(t *testing.T) {
	cfg, err := ParseConfig(examplePath, exampleDoc(t, t.TempDir(), false))
	if err != nil {
		t.Fatalf("the example config as shipped does not load:\n%v", err)
	}
	// As shipped, every daemon setting is its default.
	if cfg.Listen != DefaultListen || cfg.SocketMode != DefaultSocketMode || cfg.MetricsListen != DefaultMetricsListen ||
		cfg.Delimiter() != DefaultRecipientDelimiter || !cfg.OutboundToCc() || cfg.LogFormat != DefaultLogFormat ||
		cfg.LogLevel != DefaultLogLevel || len(cfg.Connectors)+len(cfg.Tenants)+len(cfg.Domains)+len(cfg.Cutovers) != 0 {
		t.Errorf("the example config as shipped is not all defaults: %+v", cfg)
	}
}

func TestExampleConfigUncommented(t *testing.T) {
	doc := exampleDoc(t, t.TempDir(), true)
	cfg, err := ParseConfig(examplePath, doc)
	if err != nil {
		t.Fatalf("the example config with every example in effect does not load:\n%v\n%s", err, doc)
	}
	// The commented-out daemon values are the defaults.
	if cfg.Listen != DefaultListen || cfg.SocketMode != DefaultSocketMode || cfg.SocketGroup != DefaultSocketGroup ||
		cfg.MetricsListen != DefaultMetricsListen || cfg.Delimiter() != DefaultRecipientDelimiter ||
		cfg.LogFormat != DefaultLogFormat || cfg.LogLevel != DefaultLogLevel || !cfg.OutboundToCc() {
		t.Errorf("a commented-out daemon setting is not its default: %+v", cfg)
	}

	// Every key of Config (and of the policy's tables) appears in the example.
	var tree map[string]any
	if err := toml.Unmarshal(doc, &tree); err != nil {
		t.Fatal(err)
	}
	for _, path := range tomlKeys(reflect.TypeFor[Config](), "") {
		if !hasKey(tree, strings.Split(path, ".")) {
			t.Errorf("key %q is not documented in %s", path, examplePath)
		}
	}
}

// tomlKeys lists the TOML key paths of a struct type: "listen", "organization.domains",
// "connector.name"; embedded structs are flattened as go-toml does.
func tomlKeys(typ reflect.Type, prefix string) []string {
	var keys []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if tag == "-" {
			continue
		}
		ft := f.Type
		if f.Anonymous && ft.Kind() == reflect.Struct {
			keys = append(keys, tomlKeys(ft, prefix)...)
			continue
		}
		path := prefix + tag
		for ft.Kind() == reflect.Slice || ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Time]() {
			keys = append(keys, tomlKeys(ft, path+".")...)
			continue
		}
		keys = append(keys, path)
	}
	return keys
}

// hasKey reports whether a decoded TOML tree has the key path; in an array of tables, any
// element may have it.
func hasKey(node any, path []string) bool {
	if len(path) == 0 {
		return true
	}
	switch n := node.(type) {
	case map[string]any:
		v, ok := n[path[0]]
		return ok && hasKey(v, path[1:])
	case []any:
		for _, e := range n {
			if hasKey(e, path) {
				return true
			}
		}
	}
	return false
}

func TestTomlKeysSeesEveryField(t *testing.T) {
	keys := strings.Join(tomlKeys(reflect.TypeFor[Config](), ""), " ")
	for _, k := range []string{"listen", "log_level", "observe", "organization.pilot_senders", "connector.cert_issuers",
		"tenant.tenant_ids", "domain.keep", "cutover.start"} {
		if !strings.Contains(" "+keys+" ", " "+k+" ") {
			t.Errorf("tomlKeys misses %q: %s", k, keys)
		}
	}
}
