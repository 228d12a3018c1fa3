package rewrite

import "testing"

// typicalMessage is an outbound message as Exchange Online relays it: 12 top-level header
// fields, of which From, To, Cc and Reply-To hold tenant addresses.
func typicalMessage() Message {
	return Message{
		From:  "john.smith@tenanta.contoso.com",
		Rcpts: []string{"ed@fabrikam.com", "jane.doe@tenantb.contoso.com"},
		Headers: hdrs(
			"Received: from EUR05-AM6-obe.outbound.protection.outlook.com (mail-am6eur05on2101.outbound.protection.outlook.com [40.107.22.101])\r\n\tby gw.contoso.com (Postfix) with ESMTPS id 4Xy2kL0Qz9z1xyz",
			"ARC-Seal: i=1; a=rsa-sha256; s=arcselector9901; d=microsoft.com; cv=none;\r\n b=abcdefghijklmnopqrstuvwxyz0123456789",
			`From: "Smith, John" <john.smith@tenanta.contoso.com>`,
			"To: \"External, Ed\" <ed@fabrikam.com>, \"Doe, Jane\"\r\n\t<jane.doe@tenantb.contoso.com>",
			`Cc: =?utf-8?B?TcO8bGxlciwgSsO2cmc=?= <joerg.mueller@tenanta.contoso.com>`,
			`Reply-To: "Smith, John" <john.smith@tenanta.contoso.com>`,
			"Subject: Quarterly numbers",
			"Thread-Topic: Quarterly numbers",
			"Date: Mon, 23 Nov 2026 15:54:01 +0000",
			"Message-ID: <AM6PR05MB1234ABCD@AM6PR05MB1234.eurprd05.prod.outlook.com>",
			"Content-Type: multipart/alternative;\r\n\tboundary=\"_000_AM6PR05MB1234_\"",
			"MIME-Version: 1.0",
		),
	}
}

func BenchmarkCompute(b *testing.B) {
	l := newFakeLookup()
	m := typicalMessage()
	o := PlanOptions{Sender: true, OutboundToCc: true, Recipients: true}
	b.ReportAllocs()
	for b.Loop() {
		if p := Compute(l, o, m); len(p.Headers) != 4 {
			b.Fatalf("%d header changes, want 4", len(p.Headers))
		}
	}
}

func BenchmarkRewriteAddressList(b *testing.B) {
	l := newFakeLookup()
	fn := func(a string) (string, bool) {
		n, _, ok := l.Rewrite(a, Outbound)
		return n, ok
	}
	for _, c := range []struct{ name, value string }{
		{"unmatched", ` "External, Ed" <ed@fabrikam.com>, =?utf-8?q?J=C3=B6rg?= <joerg@example.org> (x)`},
		{"one", ` "Smith, John" <john.smith@tenanta.contoso.com>`},
		{"folded3", " \"Smith, John\" <john@tenanta.contoso.com>,\r\n \"Doe, Jane\" <jane@tenantb.contoso.com>,\r\n ed@fabrikam.com"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := RewriteAddressList(c.value, fn); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkComputeSnapshot is BenchmarkCompute over the real rule table.
func BenchmarkComputeSnapshot(b *testing.B) {
	tab := NewTable(Options{RecipientDelimiter: "+"})
	if _, err := tab.Load("testdata/header/rules"); err != nil {
		b.Fatal(err)
	}
	snap := tab.Snapshot()
	m := typicalMessage()
	o := PlanOptions{Sender: true, OutboundToCc: true, Recipients: true}
	b.ReportAllocs()
	for b.Loop() {
		if p := Compute(snap, o, m); len(p.Headers) != 4 {
			b.Fatalf("%d header changes, want 4", len(p.Headers))
		}
	}
}
