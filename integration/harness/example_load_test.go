package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadExample reads published postfix-examples folders without Postfix: every listener is a
// service with its production name, next hops are substituted by transport and by host, every
// named map is read, and no production path or address is left.
func TestLoadExample(t *testing.T) {
	ca := &CA{Dir: "/TLS", CertFile: "/TLS/ca.crt"}
	tests := []struct {
		folder    string
		subs      Substitutions
		listeners map[string]string // production listener -> service name
		maps      []string          // type:name
		want      []string          // in some map's or main.cf's text
	}{
		{
			folder:    "two-tenants",
			subs:      Substitutions{CA: ca, Hops: map[string]string{"tenanta": "[localhost]:1", "tenantb": "[localhost]:2"}},
			listeners: map[string]string{"203.0.113.25:smtp": "internet", "203.0.113.26:smtp": "from-tenanta", "203.0.113.27:smtp": "from-tenantb"},
			maps:      []string{"hash:transport", "cidr:exchange-online.cidr"},
			want:      []string{"tenanta:[localhost]:1", "tenantb:[localhost]:2", "127.0.0.0/8 OK", "smtp_bind_address = 127.0.0.1", "/TLS/gateway.pem"},
		},
		{
			folder: "onprem-relay",
			subs: Substitutions{CA: ca, PublicName: "mx",
				Hops:     map[string]string{"mailstore.contoso.edu": "[localhost]:3", "cloud": "[localhost]:4"},
				Networks: map[string]string{"10.20.0.25": "127.0.0.4"}},
			maps: []string{"hash:transport"},
			want: []string{"smtp:[localhost]:3", "cloud:[localhost]:4", "127.0.0.4/32"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.folder, func(t *testing.T) {
			x, err := LoadExample(filepath.Join("..", "..", "postfix-examples", tt.folder), tt.subs)
			if err != nil {
				t.Fatal(err)
			}
			po := x.Postfix
			if po.Name != tt.folder || len(x.Listeners) != 1+len(po.Services) {
				t.Errorf("name %q, listeners %v for %d services", po.Name, x.Listeners, 1+len(po.Services))
			}
			for prod, name := range tt.listeners {
				if x.Listeners[prod] != name {
					t.Errorf("listener %s is service %q, want %q", prod, x.Listeners[prod], name)
				}
			}
			if tt.subs.PublicName != "" && po.SMTPD.Name != tt.subs.PublicName {
				t.Errorf("public listener %q, want %q", po.SMTPD.Name, tt.subs.PublicName)
			}
			all := strings.Join(po.MainCF, "\n") + "\n" + strings.Join(po.MasterCF, "\n")
			for _, s := range append([]Service{po.SMTPD}, po.Services...) {
				all += "\n" + strings.Join(s.Args, "\n")
				if strings.HasPrefix(s.Name, "203.") {
					t.Errorf("service named %q", s.Name)
				}
			}
			for _, name := range tt.maps {
				typ, n, _ := strings.Cut(name, ":")
				m, ok := x.Map(n)
				if !ok || m.Type != typ {
					t.Errorf("no map %s (got %+v)", name, m)
				}
			}
			for _, m := range po.Maps {
				all += "\n" + strings.Join(m.Lines, "\n")
			}
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("%q not in the substituted files", w)
				}
			}
			for _, bad := range []string{"/etc/postfix/", "/etc/ssl/", "outlook.com]", "203.0.113.25\n"} {
				if strings.Contains(all+"\n", bad) {
					t.Errorf("%q left in the substituted files", bad)
				}
			}
			for _, f := range po.MasterCF {
				if fs := strings.Fields(f); len(fs) < 8 || fs[4] != "n" {
					t.Errorf("master.cf entry %q not unchrooted", f)
				}
			}
		})
	}
	if _, err := LoadExample(filepath.Join("..", "..", "postfix-examples", "nonexistent"), Substitutions{CA: ca}); err == nil || !strings.Contains(err.Error(), "example nonexistent: ") {
		t.Errorf("missing folder: %v", err)
	}
}

func TestCFLines(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"a = 1\n# c\n\nb = 2\n", "a = 1|b = 2"},
		{"a = x,\n    y\n\tz\nb = 3", "a = x, y z|b = 3"},
		{"  # indented comment\nsmtp inet n - y - - smtpd\n  -o x=y\n", "smtp inet n - y - - smtpd -o x=y"},
	} {
		if got := strings.Join(CFLines(tt.in), "|"); got != tt.want {
			t.Errorf("CFLines(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestWriteExampleFiles writes the certificates and the edgerewrite configuration of a folder
// (the socket directory is group postfix, so this needs Postfix and root).
func TestWriteExampleFiles(t *testing.T) {
	RequirePostfix(t)
	ca, err := NewCA(t.TempDir(), "example test CA")
	if err != nil {
		t.Fatal(err)
	}
	eop, err := WriteExampleCerts(ca, []string{"mx1.contoso.com"}, map[string]string{"tenanta": "tenanta.contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	if eop.Cert.Subject.CommonName != "mail.protection.outlook.com" {
		t.Errorf("Exchange Online's certificate CN %q", eop.Cert.Subject.CommonName)
	}
	for name, want := range map[string]string{"gateway.pem": "PRIVATE KEY", "tenanta.pem": "PRIVATE KEY", "exchange-online-ca.pem": "CERTIFICATE"} {
		b, err := os.ReadFile(filepath.Join(ca.Dir, name))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %v %.40q", name, err, b)
		}
		if n := strings.Count(string(b), "BEGIN CERTIFICATE"); name != "exchange-online-ca.pem" && n != 2 {
			t.Errorf("%s holds %d certificates, want the leaf and the CA", name, n)
		}
	}
	x, err := LoadExample(filepath.Join("..", "..", "postfix-examples", "two-tenants"), Substitutions{CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	queue, etc := t.TempDir(), t.TempDir()
	d, err := x.WriteEdgerewriteConfig(queue, etc)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(d.ConfPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{queue + "/edgerewrite/", `"` + d.RulesDir + `"`, `"` + d.Metrics + `"`} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("edgerewrite.toml lacks %s:\n%s", want, conf)
		}
	}
	if strings.Contains(string(conf), "/var/spool/postfix/") || strings.Contains(string(conf), "9754") {
		t.Errorf("a production path is left:\n%s", conf)
	}
	if rules, _ := filepath.Glob(filepath.Join(d.RulesDir, "*")); len(rules) == 0 {
		t.Error("no rules copied")
	}
	if st, err := os.Stat(filepath.Join(queue, "edgerewrite")); err != nil || !st.IsDir() {
		t.Errorf("socket directory: %v", err)
	}
}
