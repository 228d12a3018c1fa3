package harness

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"testing"
)

func TestCAIssuesVerifiableCertificates(t *testing.T) {
	dir := t.TempDir()
	ca, err := NewCA(dir, "test CA")
	if err != nil {
		t.Fatal(err)
	}
	server, err := ca.Server("smtpd")
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.Client("tenant-a", "relay.tenanta.contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{ca.CertFile, server.CertFile, server.KeyFile, client.CertFile, client.KeyFile} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	if st, _ := os.Stat(client.KeyFile); st != nil && st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", st.Mode())
	}
	if _, err := tls.LoadX509KeyPair(server.CertFile, server.KeyFile); err != nil {
		t.Errorf("server PEM files: %v", err)
	}
	if _, err := server.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool, DNSName: "localhost"}); err != nil {
		t.Errorf("server cert: %v", err)
	}
	if err := server.Cert.VerifyHostname("127.0.0.1"); err != nil {
		t.Errorf("server cert: %v", err)
	}
	if _, err := client.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client cert: %v", err)
	}

	// A handshake in which the server demands and verifies the client certificate.
	a, b := net.Pipe()
	srv := tls.Server(a, &tls.Config{Certificates: []tls.Certificate{server.TLS}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool})
	done := make(chan error, 1)
	go func() { done <- srv.Handshake() }()
	cl := tls.Client(b, ca.ClientTLS(client, ""))
	if err := cl.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if cn := srv.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "relay.tenanta.contoso.com" {
		t.Errorf("peer CN %q", cn)
	}
	// Close the pipe, not the TLS conns: close_notify on an unread net.Pipe blocks for 5 s.
	a.Close()
	b.Close()
}
