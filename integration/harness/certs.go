package harness

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// CA is a throwaway certificate authority whose certificate and leaves are PEM files in Dir.
type CA struct {
	// Dir holds NAME.crt and NAME.key for the CA ("ca") and every leaf.
	Dir string
	// CertFile is the CA certificate (PEM), for smtpd_tls_CAfile or ServerTLS.CAFile.
	CertFile string
	// Cert is the CA certificate; Pool trusts it alone.
	Cert *x509.Certificate
	Pool *x509.CertPool
	key  crypto.Signer
}

// Leaf is a certificate issued by a CA, with its key.
type Leaf struct {
	// CertFile holds the certificate followed by the CA certificate (a chain, PEM);
	// KeyFile the PKCS #8 key (PEM, mode 0600).
	CertFile, KeyFile string
	Cert              *x509.Certificate
	// TLS is the pair for a tls.Config.
	TLS tls.Certificate
}

// NewCA creates a CA named commonName and writes dir/ca.crt and dir/ca.key. dir must exist.
func NewCA(dir, commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"edgerewrite tests"}},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	cert, der, err := sign(tmpl, tmpl, key, key)
	if err != nil {
		return nil, fmt.Errorf("CA %q: %w", commonName, err)
	}
	ca := &CA{Dir: dir, CertFile: filepath.Join(dir, "ca.crt"), Cert: cert, Pool: x509.NewCertPool(), key: key}
	ca.Pool.AddCert(cert)
	if err := writePEM(ca.CertFile, 0o644, "CERTIFICATE", der); err != nil {
		return nil, err
	}
	if err := writeKey(filepath.Join(dir, "ca.key"), key); err != nil {
		return nil, err
	}
	return ca, nil
}

// Server issues a server certificate for hosts (DNS names or IP addresses; the first is also
// the common name), written as dir/NAME.crt and dir/NAME.key. With no hosts it is for
// "localhost" and 127.0.0.1.
func (ca *CA) Server(name string, hosts ...string) (*Leaf, error) {
	if len(hosts) == 0 {
		hosts = []string{"localhost", "127.0.0.1"}
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: hosts[0]},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return ca.issue(name, tmpl)
}

// Client issues a TLS client certificate with that common name (Postfix shows it as
// {cert_subject} once verified), e.g. "relay.tenanta.contoso.com", written as dir/NAME.crt and
// dir/NAME.key. It also carries the name as a DNS name, as Microsoft 365's certificates do.
func (ca *CA) Client(name, commonName string) (*Leaf, error) {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName},
		DNSNames:    []string{commonName},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	return ca.issue(name, tmpl)
}

// ClientTLS is a tls.Config that trusts this CA, presents leaf (nil: no client certificate)
// and expects the server certificate to be valid for serverName ("" means "localhost").
func (ca *CA) ClientTLS(leaf *Leaf, serverName string) *tls.Config {
	if serverName == "" {
		serverName = "localhost"
	}
	cfg := &tls.Config{RootCAs: ca.Pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
	if leaf != nil {
		cfg.Certificates = []tls.Certificate{leaf.TLS}
	}
	return cfg
}

func (ca *CA) issue(name string, tmpl *x509.Certificate) (*Leaf, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	cert, der, err := sign(tmpl, ca.Cert, key, ca.key)
	if err != nil {
		return nil, fmt.Errorf("certificate %q: %w", name, err)
	}
	l := &Leaf{CertFile: filepath.Join(ca.Dir, name+".crt"), KeyFile: filepath.Join(ca.Dir, name+".key"), Cert: cert}
	chain := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})...)
	if err := os.WriteFile(l.CertFile, chain, 0o644); err != nil {
		return nil, err
	}
	if err := writeKey(l.KeyFile, key); err != nil {
		return nil, err
	}
	l.TLS = tls.Certificate{Certificate: [][]byte{der, ca.Cert.Raw}, PrivateKey: key, Leaf: cert}
	return l, nil
}

// sign fills serial number and validity (an hour back, for clock skew, to 30 days ahead).
func sign(tmpl, parent *x509.Certificate, pub interface{ Public() crypto.PublicKey }, signer crypto.Signer) (*x509.Certificate, []byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(30 * 24 * time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub.Public(), signer)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, der, err
}

func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, 0o600, "PRIVATE KEY", der)
}

func writePEM(path string, mode os.FileMode, typ string, der []byte) error {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
