package policy

import (
	"net/netip"
	"testing"
)

func TestClassify(t *testing.T) {
	p := load(t, "two-tenants.toml")
	eop := netip.MustParseAddr("40.92.17.4")
	tenantA := Conn{Addr: eop, DaemonName: "smtpd-tenants",
		CertSubject: "mail.protection.outlook.com", CertIssuer: "DigiCert Cloud Services CA-1"}
	with := func(c Conn, f func(*Conn)) Conn { f(&c); return c }
	internet := Class{}
	a := Class{Connector: "tenant-a", Tenant: "tenant-a", Outbound: true}
	b := Class{Connector: "tenant-b", Tenant: "tenant-b", Outbound: true}
	onprem := Class{Connector: "onprem", Tenant: "onprem", Outbound: true, Observe: true}
	tests := []struct {
		name string
		conn Conn
		want Class
	}{
		{"all criteria match", tenantA, a},
		{"cert subject case-insensitive", with(tenantA, func(c *Conn) { c.CertSubject = "Mail.Protection.OUTLOOK.com" }), a},
		{"IPv6 network", with(tenantA, func(c *Conn) { c.Addr = netip.MustParseAddr("2a01:111:f400:7e00::25") }), a},
		{"IPv4-mapped IPv6 client", with(tenantA, func(c *Conn) { c.Addr = netip.MustParseAddr("::ffff:40.107.1.2") }), a},
		{"no verified certificate: empty macro never matches", with(tenantA, func(c *Conn) { c.CertSubject = ""; c.CertIssuer = "" }), internet},
		{"other issuer", with(tenantA, func(c *Conn) { c.CertIssuer = "Let's Encrypt R3" }), internet},
		{"outside networks", with(tenantA, func(c *Conn) { c.Addr = netip.MustParseAddr("198.51.100.7") }), internet},
		{"unknown client address", with(tenantA, func(c *Conn) { c.Addr = netip.Addr{} }), internet},
		{"same EOP network, public smtpd", with(tenantA, func(c *Conn) { c.DaemonName = "smtpd" }), internet},
		{"cert subject with CN= is not what Postfix sends", with(tenantA, func(c *Conn) { c.CertSubject = "CN=mail.protection.outlook.com" }), internet},
		{"daemon name alone", Conn{DaemonName: "smtpd-tenant-b"}, b},
		{"daemon name is exact", Conn{DaemonName: "SMTPD-TENANT-B"}, internet},
		{"network and SASL login, connector observe", Conn{Addr: netip.MustParseAddr("192.0.2.9"), AuthLogin: "relay-onprem"}, onprem},
		{"SASL login is exact", Conn{Addr: netip.MustParseAddr("192.0.2.9"), AuthLogin: "Relay-Onprem"}, internet},
		{"SASL login from elsewhere", Conn{Addr: netip.MustParseAddr("203.0.113.9"), AuthLogin: "relay-onprem"}, internet},
		{"nothing", Conn{}, internet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Classify(tt.conn); got != tt.want {
				t.Errorf("Classify(%+v) = %+v, want %+v", tt.conn, got, tt.want)
			}
		})
	}
}

func TestClassifyGlobalObserve(t *testing.T) {
	p := load(t, "two-tenants.toml", func(c *Config) { c.Observe = true })
	if got := p.Classify(Conn{}); !got.Observe || got.Outbound {
		t.Errorf("Internet class = %+v, want Observe", got)
	}
	if got := p.Classify(Conn{DaemonName: "smtpd-tenant-b"}); !got.Observe || !got.Outbound {
		t.Errorf("tenant-b class = %+v, want Observe", got)
	}
}

func TestClassifyFirstMatchWins(t *testing.T) {
	cfg := Config{
		Tenants: []Tenant{{Name: "a", SenderDomains: []string{"a.example"}}, {Name: "b", SenderDomains: []string{"b.example"}}},
		Connectors: []Connector{
			{Name: "narrow", Tenant: "a", Networks: []string{"10.1.0.0/16"}},
			{Name: "broad", Tenant: "b", Networks: []string{"10.0.0.0/8"}},
		},
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Classify(Conn{Addr: netip.MustParseAddr("10.1.2.3")}).Connector; got != "narrow" {
		t.Errorf("10.1.2.3 -> %q, want narrow", got)
	}
	if got := p.Classify(Conn{Addr: netip.MustParseAddr("10.2.2.3")}).Connector; got != "broad" {
		t.Errorf("10.2.2.3 -> %q, want broad", got)
	}
}
