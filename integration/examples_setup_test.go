package integration

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// exampleOptions say what a test substitutes in one postfix-examples folder; everything else is
// used verbatim (examples_test.go has the whole table).
type exampleOptions struct {
	// Folder is the folder name under postfix-examples/.
	Folder string
	// CA is the test CA (newExampleCA) that issues every certificate, the sinks' included
	// (harness.WriteExampleCerts).
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
// main.cf and master.cf fragments (harness.LoadExample), edgerewrite with its edgerewrite.toml
// and rules, the Internet sink (relayhost, standing in for MX delivery) and the next-hop sinks.
type example struct {
	t        *testing.T
	x        *harness.Example
	ca       *harness.CA
	eop      *harness.Leaf // the client certificate "Exchange Online" presents
	pf       *harness.Postfix
	er       *harness.Edgerewrite
	internet *harness.Sink
	confPath string // the substituted edgerewrite.toml
	metrics  string // its metrics_listen
	rulesDir string // its rules directory (a copy of the folder's)
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
	ex := &example{t: t, ca: opts.CA}
	var err error
	if ex.eop, err = harness.WriteExampleCerts(opts.CA, opts.GatewayNames, opts.ClientCerts); err != nil {
		t.Fatal(err)
	}
	ex.internet = harness.NewSink(t)
	hops := map[string]string{}
	for name, sink := range opts.Hops {
		hops[name] = sink.Nexthop()
	}
	ex.x, err = harness.LoadExample(exampleDir(t, opts.Folder), harness.Substitutions{
		CA: opts.CA, Hops: hops, Networks: opts.Networks, Extra: opts.Substitute,
	})
	if err != nil {
		t.Fatal(err)
	}
	po := ex.x.Postfix
	po.RelayTo = ex.internet.Addr()
	ex.pf = harness.NewPostfix(t, po)
	d, err := ex.x.WriteEdgerewriteConfig(filepath.Join(ex.pf.Dir, "queue"), openTempDir(t))
	if err != nil {
		t.Fatal(err)
	}
	ex.confPath, ex.metrics, ex.rulesDir = d.ConfPath, d.Metrics, d.RulesDir
	ex.er = harness.NewEdgerewrite(t, bin, ex.confPath)
	return ex
}

// read returns the folder's file name as published.
func (ex *example) read(name string) string {
	ex.t.Helper()
	text, err := ex.x.Read(name)
	if err != nil {
		ex.t.Fatal(err)
	}
	return text
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

// listener is the harness address of the folder's master.cf listener (e.g. "203.0.113.26:smtp").
func (ex *example) listener(production string) string {
	ex.t.Helper()
	name, ok := ex.x.Listeners[production]
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
	m, ok := ex.x.Map(name)
	if !ok {
		t.Fatalf("no map %s", name)
	}
	path := filepath.Join(ex.pf.ConfDir, name)
	if err := os.WriteFile(path, []byte(ex.x.Substitute(edit(ex.read(name)))), 0o644); err != nil {
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
