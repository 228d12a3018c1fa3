package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// configErrors loads testdata/config/NAME and returns each problem's text.
func configErrors(t *testing.T, name string) []string {
	t.Helper()
	_, err := LoadConfig(filepath.Join("testdata", "config", name))
	if err == nil {
		return nil
	}
	var out []string
	for _, e := range Problems(err) {
		out = append(out, e.Error())
	}
	return out
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		file string
		want []string // per problem, in order: "LINE: text the message contains"
	}{
		{"unknown.toml", []string{
			`2: unknown key "listen_address"`,
			`5: unknown key "organization.domain"`,
			`10: unknown key "connector.network"`,
			`16: unknown key "logging"`,
		}},
		{"badvalues.toml", []string{
			`1: bad listen address: "tcp:localhost:25": write "unix:/path/to/socket" or "inet:127.0.0.1:PORT"`,
			`2: bad socket mode: socket_mode "rw-rw----"`,
			`3: bad rules directory: rules_dir "testdata/config/no-such-dir" does not exist`,
			`4: bad metrics address: metrics_listen "0.0.0.0:9754": host "0.0.0.0" would listen on every interface`,
			`5: bad log setting: log_format "xml"`,
			`6: bad log setting: log_level "verbose"`,
			`7: inbound_header_rewrite "signed": use "unsigned"`,
		}},
		{"badlisten.toml", []string{
			`1: bad listen address: "inet::9753": without a host it would listen on every interface`,
			`3: bad metrics address: metrics_listen "metrics.example.net:9754": host "metrics.example.net" is not an IP address`,
		}},
		{"typeerror.toml", []string{`2: key "rewrite_outbound_to_cc" must be true or false, not a TOML string`}},
		{"octal.toml", []string{`2: `, `socket_mode = "0660"`}},
		{"syntax.toml", []string{`2: `}},
		{"policy.toml", []string{`9: connector "tenant-b": `}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := configErrors(t, tt.file)
			prefix := filepath.Join("testdata", "config", tt.file) + ":"
			if tt.file == "octal.toml" { // one problem, two things to say about it
				if len(got) != 1 || !strings.HasPrefix(got[0], prefix+tt.want[0]) || !strings.Contains(got[0], tt.want[1]) {
					t.Fatalf("got %q, want one problem at line 2 with the hint %q", got, tt.want[1])
				}
				return
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], prefix+w) {
					t.Errorf("problem %d:\n got %s\nwant %s%s...", i, got[i], prefix, w)
				}
			}
		})
	}
}

func TestLoadConfigSentinels(t *testing.T) {
	_, err := LoadConfig(filepath.Join("testdata", "config", "badvalues.toml"))
	for _, s := range []error{ErrBadListen, ErrBadSocketMode, ErrBadMetrics, ErrBadRulesDir, ErrBadLog} {
		if !errors.Is(err, s) {
			t.Errorf("error does not match %v", s)
		}
	}
	_, err = LoadConfig(filepath.Join("testdata", "config", "unknown.toml"))
	if !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown keys: %v does not match ErrUnknownKey", err)
	}
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Line != 2 {
		t.Errorf("want a *ConfigError at line 2, got %#v", ce)
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join("testdata", "config", "minimal.toml"))
	if err != nil {
		t.Fatal(err)
	}
	check := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	check("listen", cfg.Listen, DefaultListen)
	check("socket_mode", cfg.SocketMode, DefaultSocketMode)
	check("socket_group", cfg.SocketGroup, "")
	check("rules_dir", cfg.RulesDir, filepath.Join("testdata", "config", "rules"))
	check("recipient_delimiter", cfg.Delimiter(), "+")
	check("metrics_listen", cfg.MetricsListen, DefaultMetricsListen)
	check("log_format", cfg.LogFormat, "text")
	check("log_level", cfg.LogLevel, "info")
	check("inbound_header_rewrite", cfg.InboundHeaderRewrite, InboundUnsigned)
	if !cfg.OutboundToCc() {
		t.Error("rewrite_outbound_to_cc defaults to false, want true")
	}
	if cfg.Policy() == nil {
		t.Error("no policy built")
	}
	if n, a, _ := cfg.ListenAddr(); n != "unix" || a != "/var/spool/postfix/edgerewrite/edgerewrite.sock" {
		t.Errorf("listen = %s %s", n, a)
	}
}

func TestLoadConfigAllSet(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join("testdata", "config", "ok.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Delimiter() != "+-" || cfg.OutboundToCc() || cfg.LogFormat != "json" || cfg.LogLevel != "debug" {
		t.Errorf("settings not taken: %+v", cfg)
	}
	if n, a, err := cfg.ListenAddr(); n != "tcp" || a != "127.0.0.1:9753" || err != nil {
		t.Errorf("listen = %s %s %v", n, a, err)
	}
	if m, _ := cfg.SocketFileMode(); m != 0o600 {
		t.Errorf("socket_mode = %o", m)
	}
	if len(cfg.Connectors) != 1 || len(cfg.Cutovers) != 1 || cfg.Cutovers[0].End.IsZero() {
		t.Errorf("policy keys not decoded: %+v", cfg.Config)
	}
}

func TestEmptyDelimiter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "edgerewrite.toml")
	doc := "rules_dir = \".\"\nrecipient_delimiter = \"\"\nlisten = \"unix:milter.sock\"\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Delimiter() != "" {
		t.Errorf("delimiter = %q, want \"\" (extensions off)", cfg.Delimiter())
	}
	if _, a, _ := cfg.ListenAddr(); a != filepath.Join(dir, "milter.sock") {
		t.Errorf("relative socket path not under the config's directory: %s", a)
	}
	if err := cfg.CheckHost(); err != nil {
		t.Errorf("CheckHost: %v", err)
	}
}

func TestCheckHost(t *testing.T) {
	cfg := &Config{Listen: "unix:/no/such/dir/s.sock", SocketGroup: "no-such-group-edgerewrite", path: "x.toml",
		lines: map[string]int{"listen": 1, "socket_group": 2}}
	err := cfg.CheckHost()
	got := Problems(err)
	if len(got) != 2 || !strings.HasPrefix(got[0].Error(), `x.toml:1: bad listen address: socket directory "/no/such/dir"`) ||
		!strings.HasPrefix(got[1].Error(), `x.toml:2: socket_group "no-such-group-edgerewrite": no such group`) {
		t.Errorf("CheckHost = %v", got)
	}
}

func TestCheckHostPort(t *testing.T) {
	good := []string{"127.0.0.1:9754", "[::1]:9754", "localhost:0", "192.0.2.10:25"}
	bad := []string{":9754", "0.0.0.0:1", "[::]:1", "127.0.0.1", "127.0.0.1:65536", "127.0.0.1:http", "host.example:1"}
	for _, s := range good {
		if err := checkHostPort(s); err != nil {
			t.Errorf("checkHostPort(%q) = %v", s, err)
		}
	}
	for _, s := range bad {
		if err := checkHostPort(s); err == nil {
			t.Errorf("checkHostPort(%q) accepted", s)
		}
	}
}

func TestKeyLines(t *testing.T) {
	doc := "a = 1\n\n[organization]\ndomains = []\n[[connector]]\nname = \"x\"\n[[connector]]\n\nnetworks = []\nsub.key = 2\n"
	lines := keyLines([]byte(doc))
	for path, want := range map[string]int{
		"a": 1, "organization": 3, "organization.domains": 4, "connector[0]": 5, "connector[0].name": 6,
		"connector[1]": 7, "connector[1].networks": 9, "connector[1].sub.key": 10,
	} {
		if lines[path] != want {
			t.Errorf("line of %s = %d, want %d", path, lines[path], want)
		}
	}
	if l := lineOf(lines, "connector[1].tenant"); l != 7 {
		t.Errorf("lineOf falls back to the table: %d, want 7", l)
	}
	if l := lineOf(lines, "cutover[0].match"); l != 0 {
		t.Errorf("lineOf(unknown) = %d, want 0", l)
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, name := range []string{"ok.toml", "unknown.toml", "badvalues.toml", "policy.toml", "octal.toml"} {
		doc, err := os.ReadFile(filepath.Join("testdata", "config", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		cfg, err := ParseConfig(filepath.Join("testdata", "config", "fuzz.toml"), doc)
		if err != nil {
			for _, e := range Problems(err) {
				if !strings.HasPrefix(e.Error(), "testdata/config/fuzz.toml") {
					t.Fatalf("problem without the file name: %v", e)
				}
			}
			return
		}
		if cfg.Policy() == nil {
			t.Fatal("valid config without a policy")
		}
		if _, _, err := cfg.ListenAddr(); err != nil {
			t.Fatalf("valid config with a bad listen: %v", err)
		}
	})
}
