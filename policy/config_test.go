package policy

import (
	"testing"
	"time"
)

// TestDecodeSchema checks that every key of the schema decodes into Config through the daemon's
// embedding, strictly, with datetimes as time.Time.
func TestDecodeSchema(t *testing.T) {
	cfg := decodeFile(t, "two-tenants.toml")
	if len(cfg.Connectors) != 3 || len(cfg.Tenants) != 3 || len(cfg.Domains) != 3 || len(cfg.Cutovers) != 5 {
		t.Fatalf("decoded %d connectors, %d tenants, %d domains, %d cutovers",
			len(cfg.Connectors), len(cfg.Tenants), len(cfg.Domains), len(cfg.Cutovers))
	}
	c := cfg.Connectors[0]
	if c.Name != "tenant-a" || c.Tenant != "tenant-a" || len(c.Networks) != 3 || c.DaemonNames[0] != "smtpd-tenants" ||
		c.CertSubjects[0] != "CN=mail.protection.outlook.com" || c.CertIssuers[0] != "DigiCert Cloud Services CA-1" {
		t.Errorf("connector 0 = %+v", c)
	}
	if cfg.Connectors[1].OnFailure != "tempfail" || !cfg.Connectors[2].Observe || cfg.Connectors[2].SASLLogins[0] != "relay-onprem" {
		t.Errorf("connectors = %+v", cfg.Connectors)
	}
	if cfg.Tenants[1].AllowForeignFrom == nil || !*cfg.Tenants[1].AllowForeignFrom || cfg.Tenants[0].TenantIDs[0] != "335836de-42ef-43a2-b145-348c2ee9ca5b" {
		t.Errorf("tenants = %+v", cfg.Tenants)
	}
	if d := cfg.Domains[1]; d.Unresolved != "route" || d.RouteTo != "live.contoso.edu" || len(d.Keep) != 2 {
		t.Errorf("domain 1 = %+v", d)
	}
	cu := cfg.Cutovers[0]
	if !cu.Start.Equal(time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)) || !cu.End.Equal(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("cutover window = %v .. %v", cu.Start, cu.End)
	}
	if !cfg.Cutovers[3].Start.IsZero() || !cfg.Cutovers[2].End.IsZero() {
		t.Errorf("open bounds should decode as zero times: %+v", cfg.Cutovers)
	}
	if _, err := New(cfg); err != nil {
		t.Fatal(err)
	}
}
