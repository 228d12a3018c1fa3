package integration

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// exampleOptions say what a test substitutes in one postfix-examples folder; everything else is
// used verbatim (examples_test.go has the whole table).
type exampleOptions struct {
	// Folder is the folder name under postfix-examples/.
	Folder string
	// CA is the test CA (newExampleCA) that issues every certificate, the sinks' included.
	CA *harness.CA
	// Hops map a next hop written in the folder's transport file to the sink that stands in
	// for it: the key is the transport ("tenanta", "cloud") or, for the plain smtp
	// transport, the host ("mailstore.contoso.edu").
	Hops map[string]*harness.Sink
	// GatewayNames are the names of gateway.pem, the gateway's own certificate (the first is
	// its common name); localhost and 127.0.0.1 are added for the test clients.
	GatewayNames []string
	// ClientCerts name the common name of each client certificate file the folder uses
	// (/etc/postfix/tls/NAME.pem), e.g. "tenanta" -> "tenanta.contoso.com". gateway.pem (a
	// server certificate) and exchange-online-ca.pem (the CA) need no entry.
	ClientCerts map[string]string
	// Networks map an on-premises server's production address to the loopback address the
	// test sends from as that server ("10.20.0.25" -> "127.0.0.4").
	Networks map[string]string
	// Substitute are further exact replacements in every file (e.g. the OpenDKIM port).
	Substitute map[string]string
}

// example is one postfix-examples folder running: a throwaway Postfix built from its
// main.cf and master.cf fragments, edgerewrite with its edgerewrite.toml and rules, the
// Internet sink (relayhost, standing in for MX delivery) and the next-hop sinks.
type example struct {
	t        *testing.T
	dir      string
	opts     exampleOptions
	ca       *harness.CA
	eop      *harness.Leaf // the client certificate "Exchange Online" presents
	tlsDir   string
	pf       *harness.Postfix
	er       *harness.Edgerewrite
	internet *harness.Sink
	// listeners maps the folder's master.cf listener address ("203.0.113.26:smtp") to the
	// harness service name (its milter_macro_daemon_name, "internet" for the public one).
	listeners map[string]string
	confPath  string // the substituted edgerewrite.toml
	metrics   string // its metrics_listen
	rulesDir  string // its rules directory (a copy of the folder's)
	maps      map[string]harness.Map
}

// exampleDir is the absolute path of postfix-examples/NAME.
func exampleDir(t *testing.T, name string) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "postfix-examples", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "edgerewrite.toml")); err != nil {
		t.Fatalf("example folder: %v", err)
	}
	return dir
}

// startExample builds and starts everything for one folder.
func startExample(t *testing.T, opts exampleOptions) *example {
	t.Helper()
	harness.RequirePostfix(t)
	bin := harness.MustBuildEdgerewrite(t)
	ex := &example{t: t, dir: exampleDir(t, opts.Folder), opts: opts, listeners: map[string]string{}, maps: map[string]harness.Map{}}
	ex.makeCerts()
	ex.internet = harness.NewSink(t)

	mainCF := ex.substitute(ex.read("main.cf"))
	services, masterCF := ex.masterCF(ex.substitute(ex.read("master.cf")))
	ex.collectMaps(mainCF + "\n" + strings.Join(masterCF, "\n"))
	po := harness.PostfixOptions{
		Name:     opts.Folder,
		RelayTo:  ex.internet.Addr(),
		SMTPD:    services[0],
		Services: services[1:],
		MainCF:   cfLines(mainCF),
		MasterCF: masterCF,
	}
	for _, m := range ex.maps {
		po.Maps = append(po.Maps, m)
	}
	ex.pf = harness.NewPostfix(t, po)
	ex.startEdgerewrite(bin)
	return ex
}

func (ex *example) read(name string) string {
	ex.t.Helper()
	b, err := os.ReadFile(filepath.Join(ex.dir, name))
	if err != nil {
		ex.t.Fatal(err)
	}
	return string(b)
}

// newExampleCA makes the test CA in a directory Postfix's processes can read.
func newExampleCA(t *testing.T) *harness.CA {
	t.Helper()
	dir := filepath.Join(openTempDir(t), "tls")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ca, err := harness.NewCA(dir, "Test Cloud Services CA")
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// makeCerts writes, next to the CA, the files the folder names under /etc/postfix/tls/: each
// NAME.pem is a private key followed by its certificate chain, as smtp(d)_tls_chain_files
// want; exchange-online-ca.pem is the CA, which also issues the client certificate
// "mail.protection.outlook.com" the tests present as Exchange Online.
func (ex *example) makeCerts() {
	t := ex.t
	ca := ex.opts.CA
	ex.ca, ex.tlsDir = ca, ca.Dir
	var err error
	if ex.eop, err = ca.Client("eop", "mail.protection.outlook.com"); err != nil {
		t.Fatal(err)
	}
	chain := func(name string, l *harness.Leaf) {
		key, err1 := os.ReadFile(l.KeyFile)
		crt, err2 := os.ReadFile(l.CertFile)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if err := os.WriteFile(filepath.Join(ex.tlsDir, name+".pem"), append(key, crt...), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	gw, err := ca.Server("gateway-leaf", append(ex.opts.GatewayNames, "localhost", "127.0.0.1")...)
	if err != nil {
		t.Fatal(err)
	}
	chain("gateway", gw)
	for name, cn := range ex.opts.ClientCerts {
		l, err := ca.Client(name+"-leaf", cn)
		if err != nil {
			t.Fatal(err)
		}
		chain(name, l)
	}
	crt, err := os.ReadFile(ca.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ex.tlsDir, "exchange-online-ca.pem"), crt, 0o644); err != nil {
		t.Fatal(err)
	}
}

// startEdgerewrite writes the folder's edgerewrite.toml with its socket inside this instance's
// queue directory and its rules directory copied, then starts the daemon.
func (ex *example) startEdgerewrite(bin string) {
	t := ex.t
	queue := filepath.Join(ex.pf.Dir, "queue")
	sockDir := filepath.Join(queue, "edgerewrite")
	if err := os.Mkdir(sockDir, 0o750); err != nil {
		t.Fatal(err)
	}
	g, err := user.LookupGroup("postfix")
	if err != nil {
		t.Fatal(err)
	}
	gid, _ := strconv.Atoi(g.Gid)
	if err := os.Chown(sockDir, 0, gid); err != nil {
		t.Fatal(err)
	}
	etc := openTempDir(t)
	ex.rulesDir = filepath.Join(etc, "rules")
	if err := os.CopyFS(ex.rulesDir, os.DirFS(filepath.Join(ex.dir, "rules"))); err != nil {
		t.Fatal(err)
	}
	metrics, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	conf := ex.substitute(ex.read("edgerewrite.toml"))
	conf = strings.ReplaceAll(conf, "/var/spool/postfix/", queue+"/")
	conf = strings.ReplaceAll(conf, `"/etc/edgerewrite/rules"`, strconv.Quote(ex.rulesDir))
	ex.metrics = fmt.Sprintf("127.0.0.1:%d", metrics)
	conf = strings.ReplaceAll(conf, `"127.0.0.1:9754"`, strconv.Quote(ex.metrics))
	ex.confPath = filepath.Join(etc, "edgerewrite.toml")
	if err := os.WriteFile(ex.confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ex.er = harness.NewEdgerewrite(t, bin, ex.confPath)
}

// listener is the harness address of the folder's master.cf listener (e.g. "203.0.113.26:smtp").
func (ex *example) listener(production string) string {
	ex.t.Helper()
	name, ok := ex.listeners[production]
	if !ok {
		ex.t.Fatalf("master.cf has no listener %s", production)
	}
	return ex.pf.ServiceAddr(name)
}

// send sends env to the listener and returns the replies; a failure to talk SMTP at all fails
// the test.
func (ex *example) send(listener string, env harness.Envelope) *harness.Result {
	ex.t.Helper()
	res, err := harness.Send(ex.listener(listener), env)
	if err != nil {
		ex.t.Fatalf("send <%s> to %s: %v", env.From, listener, err)
	}
	return res
}

// mustSend is send that requires every reply to be positive.
func (ex *example) mustSend(listener string, env harness.Envelope) *harness.Result {
	ex.t.Helper()
	res := ex.send(listener, env)
	if err := res.Err(); err != nil {
		ex.t.Fatalf("send <%s> to %s: %v", env.From, listener, err)
	}
	return res
}

// fromExchangeOnline makes env come from Exchange Online: a loopback address of its own,
// STARTTLS with the client certificate "mail.protection.outlook.com".
func (ex *example) fromExchangeOnline(env harness.Envelope) harness.Envelope {
	env.LocalAddr = "127.0.0.2"
	env.Helo = "NAM11-BN8-obe.outbound.protection.outlook.com"
	env.TLS = ex.ca.ClientTLS(ex.eop, "localhost")
	return env
}

// fromInternet makes env come from an Internet host.
func (ex *example) fromInternet(env harness.Envelope) harness.Envelope {
	env.LocalAddr = "127.0.0.3"
	env.Helo = "mail.fabrikam.example"
	return env
}

// openTempDir is t.TempDir made readable for Postfix's and OpenDKIM's unprivileged processes
// (t.TempDir and its parent are 0700).
func openTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// editMap does to one of the folder's map files what its README tells the admin to do (edit
// works on the production text), then substitutes, recompiles and reloads Postfix, as
// `postmap` and `postfix reload` would.
func (ex *example) editMap(name string, edit func(production string) string) {
	t := ex.t
	t.Helper()
	m, ok := ex.maps[name]
	if !ok {
		t.Fatalf("no map %s", name)
	}
	path := filepath.Join(ex.pf.ConfDir, name)
	if err := os.WriteFile(path, []byte(ex.substitute(edit(ex.read(name)))), 0o644); err != nil {
		t.Fatal(err)
	}
	if m.Type == "hash" || m.Type == "lmdb" {
		if out, err := ex.pf.Command("postmap", m.Type+":"+path); err != nil {
			t.Fatalf("postmap: %v %s", err, out)
		}
	}
	if out, err := ex.pf.Command("postfix", "reload"); err != nil {
		t.Fatalf("postfix reload: %v %s", err, out)
	}
}
