package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestValidateOneProblem loads each testdata/invalid file, which holds exactly one problem, and
// checks the one error New reports: its sentinel, where it points and what it says.
func TestValidateOneProblem(t *testing.T) {
	tests := []struct {
		file    string
		kind    error
		keyPath string
		msg     string // the whole Error()
	}{
		{"unknown-tenant", ErrUnknownTenant, "connector[1].tenant", `connector "tenant-b": tenant "tenant-c" is not defined`},
		{"connector-no-tenant", ErrMissing, "connector[0].tenant", `connector "tenant-a": tenant is not set: say whose mail this connector carries`},
		{"connector-no-name", ErrMissing, "connector[0].name", `connector #1: name is not set`},
		{"connector-duplicate-name", ErrDuplicate, "connector[1].name", `connector "tenant-a": name "tenant-a" is used by an earlier connector (#1)`},
		{"connector-no-criteria", ErrMissing, "connector[0]", `connector "tenant-a": no criterion is set`},
		{"connector-identical", ErrOverlap, "connector[1]", `connector "second": has the same criteria as connector "first" before it, so it never matches`},
		{"connector-shadowed", ErrOverlap, "connector[1]", `connector "narrow": can never match: connector "broad" before it matches every client this one would`},
		{"connector-bad-cidr", ErrBadValue, "connector[0].networks", `connector "tenant-a": network "40.92.0.0/33": not a network such as "40.92.0.0/15"`},
		{"connector-host-bits", ErrBadValue, "connector[0].networks", `connector "tenant-a": network "40.92.1.0/15": host bits are set; the network is "40.92.0.0/15"`},
		{"connector-on-failure", ErrBadValue, "connector[0].on_failure", `connector "tenant-a": on_failure "bounce" is not "reject" or "tempfail"`},
		{"connector-full-dn", ErrBadValue, "connector[0].cert_subjects", `looks like a whole distinguished name`},
		{"connector-empty-value", ErrBadValue, "connector[0].sasl_logins", `connector "tenant-a": an empty value never matches; remove it`},
		{"tenant-duplicate-name", ErrDuplicate, "tenant[1].name", `tenant "tenant-a": name "tenant-a" is used by an earlier tenant (#1)`},
		{"tenant-no-name", ErrMissing, "tenant[1].name", `tenant #2: name is not set`},
		{"tenant-no-sender-domains", ErrMissing, "tenant[1].sender_domains", `tenant "tenant-b": sender_domains is empty`},
		{"tenant-domain-claimed-twice", ErrDuplicate, "tenant[1].sender_domains", `tenant "tenant-b": sender domain "tenanta.contoso.com" is also claimed by tenant "tenant-a"`},
		{"tenant-bad-domain", ErrBadValue, "tenant[0].sender_domains", `tenant "tenant-a": sender domain "ten ant.contoso.com": not a domain name`},
		{"tenant-bad-pattern", ErrBadValue, "tenant[0].sender_domains", `sender domain "tenanta.*.com": a wildcard is allowed only as a leading "*."`},
		{"tenant-bad-id", ErrBadValue, "tenant[0].tenant_ids", `tenant "tenant-a": tenant ID "335836de-42ef-43a2-b145-348c2ee9ca5": not a GUID`},
		{"organization-bad-domain", ErrBadValue, "organization.domains", `[organization]: domain "contoso..com": not a valid domain name`},
		{"organization-bad-pilot", ErrBadValue, "organization.pilot_senders", `[organization]: pilot sender "john": malformed address or domain: not local@domain`},
		{"domain-unresolved", ErrBadValue, "domain[0].unresolved", `domain "contoso.com": unresolved "authoritative" is not "reject", "pass" or "route"`},
		{"domain-route-without-route-to", ErrMissing, "domain[0].route_to", `domain "contoso.edu": unresolved = "route" needs route_to`},
		{"domain-route-to-without-route", ErrUnusedKey, "domain[0].route_to", `domain "contoso.edu": route_to is only used with unresolved = "route"`},
		{"domain-keep-without-route", ErrUnusedKey, "domain[0].keep", `domain "contoso.edu": keep is only used with unresolved = "route"`},
		{"domain-keep-elsewhere", ErrBadValue, "domain[0].keep", `domain "contoso.edu": keep "dean@live.contoso.edu" is not an address of contoso.edu`},
		{"domain-route-loop", ErrBadValue, "domain[0].route_to", `route_to "CONTOSO.edu." is the domain itself: mail would loop`},
		{"domain-duplicate", ErrDuplicate, "domain[1].name", `domain "Contoso.COM": domain "contoso.com" is configured by an earlier [[domain]] (#1)`},
		{"domain-pattern", ErrBadValue, "domain[0].name", `domain "*.contoso.com": name must be one domain, not a pattern`},
		{"cutover-window-inverted", ErrWindow, "cutover[0].end", `cutover "fabrikam.com": the window ends (2026-11-23T20:00:00Z) before it starts (2026-11-24T08:00:00Z)`},
		{"cutover-window-empty", ErrWindow, "cutover[0].end", `the window ends (2026-11-24T09:00:00+01:00) before it starts (2026-11-24T08:00:00Z)`},
		{"cutover-time-of-day", ErrBadValue, "cutover[0].start", `start is a time of day without a date`},
		{"cutover-action", ErrBadValue, "cutover[0].action", `cutover "fabrikam.com": action "quarantine" is not "defer" or "hold"`},
		{"cutover-no-action", ErrMissing, "cutover[0].action", `cutover "fabrikam.com": action is not set`},
		{"cutover-match", ErrBadValue, "cutover[0].match", `cutover "fabrikam com": match "fabrikam com" is neither a domain nor an address`},
		{"cutover-match-address", ErrBadValue, "cutover[0].match", `match "john@" is neither a domain nor an address: malformed address or domain: not local@domain`},
		{"cutover-no-match", ErrMissing, "cutover[0].match", `cutover #1: match is not set`},
		{"cutover-text", ErrBadValue, "cutover[0].text", `text: character '–' at byte 25: SMTP reply texts are printable ASCII on one line`},
		{"cutover-overlap", ErrDuplicate, "cutover[1]", `cutover "FABRIKAM.com": its window overlaps that of cutover #1 for the same match "fabrikam.com"`},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.file+".toml"] = true
		t.Run(tt.file, func(t *testing.T) {
			_, err := New(decodeFile(t, filepath.Join("invalid", tt.file+".toml")))
			if err == nil {
				t.Fatal("New accepted the configuration")
			}
			errs := err.(interface{ Unwrap() []error }).Unwrap()
			if len(errs) != 1 {
				t.Fatalf("want exactly one problem, got %d:\n%v", len(errs), err)
			}
			var ce *ConfigError
			if !errors.As(errs[0], &ce) {
				t.Fatalf("%T is not a *ConfigError: %v", errs[0], errs[0])
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.kind)
			}
			if ce.KeyPath() != tt.keyPath {
				t.Errorf("KeyPath() = %q, want %q", ce.KeyPath(), tt.keyPath)
			}
			if !strings.Contains(ce.Error(), tt.msg) {
				t.Errorf("Error() = %q\nwant it to contain %q", ce.Error(), tt.msg)
			}
		})
	}
	entries, err := os.ReadDir(filepath.Join("testdata", "invalid"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !covered[e.Name()] {
			t.Errorf("testdata/invalid/%s has no test case", e.Name())
		}
	}
}

// TestValidateReportsEverything checks that New reports every problem at once, not the first.
func TestValidateReportsEverything(t *testing.T) {
	cfg := Config{
		Organization: Organization{Domains: []string{"bad domain"}},
		Connectors: []Connector{
			{Name: "x", Tenant: "nope", Networks: []string{"300.1.1.1"}, OnFailure: "drop"},
		},
		Tenants:  []Tenant{{Name: "t"}},
		Domains:  []Domain{{Name: "contoso.com", Unresolved: "route"}},
		Cutovers: []Cutover{{Match: "a b", Action: "later"}},
	}
	_, err := New(cfg)
	if err == nil {
		t.Fatal("New accepted the configuration")
	}
	got := len(err.(interface{ Unwrap() []error }).Unwrap())
	if got != 8 {
		t.Errorf("got %d problems, want 8:\n%v", got, err)
	}
}

// TestValidateAccepts lists configurations that look odd but are valid.
func TestValidateAccepts(t *testing.T) {
	base := func() Config {
		return Config{
			Tenants:    []Tenant{{Name: "a", SenderDomains: []string{"a.example"}}, {Name: "b", SenderDomains: []string{"b.example"}}},
			Connectors: []Connector{{Name: "a", Tenant: "a", DaemonNames: []string{"smtpd-a"}}},
		}
	}
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"narrow connector before a broad one", func(c *Config) {
			c.Connectors = []Connector{
				{Name: "narrow", Tenant: "a", Networks: []string{"40.93.4.0/24"}, DaemonNames: []string{"smtpd-a"}},
				{Name: "broad", Tenant: "b", Networks: []string{"40.92.0.0/15"}},
			}
		}},
		{"same networks, different certificates", func(c *Config) {
			c.Connectors = []Connector{
				{Name: "a", Tenant: "a", Networks: []string{"40.92.0.0/15"}, CertSubjects: []string{"relay.a.example"}},
				{Name: "b", Tenant: "b", Networks: []string{"40.92.0.0/15"}, CertSubjects: []string{"relay.b.example"}},
			}
		}},
		{"a pattern and a more specific domain in two tenants", func(c *Config) {
			c.Tenants[0].SenderDomains = []string{"*.contoso.com"}
			c.Tenants[1].SenderDomains = []string{"b.contoso.com", "contoso.com"}
		}},
		{"the same domain twice in one tenant", func(c *Config) { c.Tenants[0].SenderDomains = []string{"a.example", "A.EXAMPLE."} }},
		{"back-to-back cutover windows for one match", func(c *Config) {
			mid := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
			c.Cutovers = []Cutover{
				{Match: "b.example", Action: "defer", End: mid},
				{Match: "b.example", Action: "hold", Start: mid},
			}
		}},
		{"an address and its domain as two cutovers", func(c *Config) {
			c.Cutovers = []Cutover{{Match: "x@b.example", Action: "hold"}, {Match: "b.example", Action: "defer"}}
		}},
		{"IPv4-mapped network and a single address", func(c *Config) {
			c.Connectors[0].Networks = []string{"::ffff:192.0.2.0/120", "2001:db8::1"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base()
			tt.edit(&cfg)
			if _, err := New(cfg); err != nil {
				t.Errorf("New: %v", err)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	p, err := New(Config{
		Tenants: []Tenant{{Name: "a", SenderDomains: []string{"a.example"}}, {Name: "idle", SenderDomains: []string{"i.example"}},
			{Name: "m365", SenderDomains: []string{"m.example"}}, {Name: "m365-ids", SenderDomains: []string{"n.example"}, TenantIDs: []string{"335836de-42ef-43a2-b145-348c2ee9ca5b"}},
			{Name: "m365-noforward", SenderDomains: []string{"o.example"}, AllowForeignFrom: new(false)}},
		Connectors: []Connector{
			{Name: "eop-shared-cert", Tenant: "m365", DaemonNames: []string{"from-m"}, CertSubjects: []string{"CN=Mail.Protection.Outlook.com"}},
			{Name: "eop-ids", Tenant: "m365-ids", DaemonNames: []string{"from-n"}, CertSubjects: []string{"mail.protection.outlook.com"}},
			{Name: "eop-noforward", Tenant: "m365-noforward", DaemonNames: []string{"from-o"}, CertSubjects: []string{"mail.protection.outlook.com"}},
			{Name: "eop-only", Tenant: "a", Networks: []string{"40.107.0.0/16"}},
			{Name: "eop-and-cert", Tenant: "a", Networks: []string{"40.92.0.0/15"}, CertSubjects: []string{"relay.a.example"}},
			{Name: "onprem", Tenant: "a", Networks: []string{"192.0.2.0/24"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(p.Warnings(), "\n")
	for _, want := range []string{`connector "eop-only" is recognised by networks alone`, "could relay through this gateway",
		`tenant "idle" is not used by any connector`, `connector "eop-shared-cert" takes forwarded mail`} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}
	for _, not := range []string{"eop-and-cert", `"onprem"`, "eop-ids", "eop-noforward"} {
		if strings.Contains(w, not) {
			t.Errorf("warnings mention %s:\n%s", not, w)
		}
	}
}

func TestWarnings_NoOrganizationDomains(t *testing.T) {
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(p.Warnings(), "\n"); !strings.Contains(w, "no organization domains are configured") {
		t.Errorf("an empty policy refuses all Internet mail; warnings should say so, got %q", w)
	}
	p, err = New(Config{Organization: Organization{Domains: []string{"contoso.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(p.Warnings(), "\n"); strings.Contains(w, "no organization domains") {
		t.Errorf("warned with a domain configured: %q", w)
	}
}
