package harness

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// WriteExampleCerts writes, into ca.Dir, the files a postfix-examples folder names under
// /etc/postfix/tls/: gateway.pem (the gateway's server certificate for gatewayNames, the first
// its common name, plus localhost and 127.0.0.1 for local clients) and, for each clientCerts
// entry, NAME.pem with that common name ("tenanta" -> "tenanta.contoso.com"); each is a private
// key followed by its chain, as smtp(d)_tls_chain_files want. exchange-online-ca.pem is the CA,
// which also issues the client certificate "mail.protection.outlook.com" that is returned, for
// clients that stand in for Exchange Online.
func WriteExampleCerts(ca *CA, gatewayNames []string, clientCerts map[string]string) (eop *Leaf, err error) {
	if eop, err = ca.Client("eop", "mail.protection.outlook.com"); err != nil {
		return nil, err
	}
	chain := func(name string, l *Leaf) error {
		key, err := os.ReadFile(l.KeyFile)
		if err != nil {
			return err
		}
		crt, err := os.ReadFile(l.CertFile)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(ca.Dir, name+".pem"), append(key, crt...), 0o600)
	}
	gw, err := ca.Server("gateway-leaf", append(append([]string(nil), gatewayNames...), "localhost", "127.0.0.1")...)
	if err != nil {
		return nil, err
	}
	if err := chain("gateway", gw); err != nil {
		return nil, err
	}
	for name, cn := range clientCerts {
		l, err := ca.Client(name+"-leaf", cn)
		if err != nil {
			return nil, err
		}
		if err := chain(name, l); err != nil {
			return nil, err
		}
	}
	crt, err := os.ReadFile(ca.CertFile)
	if err != nil {
		return nil, err
	}
	return eop, os.WriteFile(filepath.Join(ca.Dir, "exchange-online-ca.pem"), crt, 0o644)
}

// ExampleDaemon is where WriteEdgerewriteConfig put the folder's edgerewrite configuration.
type ExampleDaemon struct {
	// ConfPath is the substituted edgerewrite.toml; RulesDir the copy of the folder's rules/.
	ConfPath, RulesDir string
	// Metrics is its metrics_listen, 127.0.0.1 and a free port.
	Metrics string
}

// WriteEdgerewriteConfig writes the folder's edgerewrite.toml into etcDir, substituted like the
// Postfix files and with: the socket below /var/spool/postfix/ moved into the instance's
// queueDir (its edgerewrite/ directory is made, group postfix, as the package does), rules_dir
// "/etc/edgerewrite/rules" replaced by a copy of the folder's rules/ in etcDir, and metrics
// 127.0.0.1:9754 by a free port. Start the daemon with StartEdgerewrite(bin, ConfPath).
func (x *Example) WriteEdgerewriteConfig(queueDir, etcDir string) (ExampleDaemon, error) {
	var d ExampleDaemon
	sockDir := filepath.Join(queueDir, "edgerewrite")
	if err := os.Mkdir(sockDir, 0o750); err != nil {
		return d, x.errorf("%w", err)
	}
	g, err := user.LookupGroup("postfix")
	if err != nil {
		return d, x.errorf("%w", err)
	}
	gid, _ := strconv.Atoi(g.Gid)
	if err := os.Chown(sockDir, 0, gid); err != nil {
		return d, x.errorf("%w", err)
	}
	d.RulesDir = filepath.Join(etcDir, "rules")
	if err := os.CopyFS(d.RulesDir, os.DirFS(filepath.Join(x.Dir, "rules"))); err != nil {
		return d, x.errorf("copy rules: %w", err)
	}
	port, err := FreePort()
	if err != nil {
		return d, err
	}
	d.Metrics = fmt.Sprintf("127.0.0.1:%d", port)
	conf, err := x.Read("edgerewrite.toml")
	if err != nil {
		return d, err
	}
	conf = x.Substitute(conf)
	conf = strings.ReplaceAll(conf, "/var/spool/postfix/", queueDir+"/")
	conf = strings.ReplaceAll(conf, `"/etc/edgerewrite/rules"`, strconv.Quote(d.RulesDir))
	conf = strings.ReplaceAll(conf, `"127.0.0.1:9754"`, strconv.Quote(d.Metrics))
	d.ConfPath = filepath.Join(etcDir, "edgerewrite.toml")
	if err := os.WriteFile(d.ConfPath, []byte(conf), 0o644); err != nil {
		return d, x.errorf("%w", err)
	}
	return d, nil
}
