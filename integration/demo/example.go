package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// The demo runs postfix-examples/two-tenants as published. Only what cannot exist on a demo
// machine is substituted (harness.Substitutions, the same table as integration/examples_test.go):
//
//	in the folder                                       in the demo
//	listeners "203.0.113.26:smtp inet ... smtpd -o .."  harness listeners on 127.0.0.1 and free ports,
//	                                                    same -o options, named after
//	                                                    milter_macro_daemon_name (the public one after
//	                                                    myhostname, its {daemon_name} in production)
//	/etc/postfix/tls/*.pem, exchange-online-ca.pem,     key + chain from a throwaway CA, which also
//	/etc/ssl/certs/ca-certificates.crt                  issues Exchange Online's client certificate
//	/etc/postfix/NAME (maps)                            $config_directory/NAME, compiled by the harness
//	exchange-online.cidr                                as is, plus "127.0.0.0/8 OK" for the demo clients
//	transport next hops "tenanta:[...outlook.com]"      "tenanta:[localhost]:PORT", a recording TLS sink
//	MX delivery to the Internet                         relayhost = the harness's recording sink
//	smtp_bind_address = 203.0.113.25                    127.0.0.1
//	/var/spool/postfix/edgerewrite/edgerewrite.sock     the instance's queue directory
//	/etc/edgerewrite/rules, metrics 127.0.0.1:9754      a copy of the folder's rules/, a free port
const exampleFolder = "two-tenants"

// loadExample reads the folder under root with harness.LoadExample. The public listener is named
// after main.cf's myhostname, its {daemon_name} in production.
func loadExample(root string, ca *harness.CA, hops map[string]string) (*harness.Example, error) {
	dir := filepath.Join(root, "postfix-examples", exampleFolder)
	subs := harness.Substitutions{CA: ca, Hops: hops}
	b, err := os.ReadFile(filepath.Join(dir, "main.cf"))
	if err != nil {
		return nil, fmt.Errorf("example %s: %w", exampleFolder, err)
	}
	for _, l := range harness.CFLines(string(b)) {
		if k, v, ok := strings.Cut(l, "="); ok && strings.TrimSpace(k) == "myhostname" {
			subs.PublicName = strings.TrimSpace(v)
		}
	}
	x, err := harness.LoadExample(dir, subs)
	if err != nil {
		return nil, err
	}
	x.Postfix.Name = "demo"
	return x, nil
}
