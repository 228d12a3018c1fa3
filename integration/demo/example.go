package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// The demo runs postfix-examples/two-tenants as published. Only what cannot exist on a demo
// machine is substituted (the same table as integration/examples_test.go):
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

// example reads and substitutes one postfix-examples folder.
type example struct {
	dir    string // postfix-examples/NAME
	tlsDir string
	caFile string
	hops   map[string]string // transport name -> next hop
}

func (x *example) read(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(x.dir, name))
	if err != nil {
		return "", fmt.Errorf("example %s: %w", exampleFolder, err)
	}
	return string(b), nil
}

var nexthopRE = regexp.MustCompile(`\b([a-z0-9-]+):\[([^\]]+)\]`)

// substitute applies the table above to a Postfix file's text.
func (x *example) substitute(s string) string {
	s = strings.ReplaceAll(s, "/etc/postfix/tls/", x.tlsDir+"/")
	s = strings.ReplaceAll(s, "/etc/ssl/certs/ca-certificates.crt", x.caFile)
	s = strings.ReplaceAll(s, "/etc/postfix/", "$config_directory/")
	s = strings.ReplaceAll(s, "smtp_bind_address = 203.0.113.25", "smtp_bind_address = 127.0.0.1")
	return nexthopRE.ReplaceAllStringFunc(s, func(m string) string {
		transport := nexthopRE.FindStringSubmatch(m)[1]
		if hop, ok := x.hops[transport]; ok {
			return transport + ":" + hop
		}
		return m
	})
}

// cfLines turns main.cf or master.cf text into logical lines: comments and blank lines
// dropped, continuation lines (leading blank) joined.
func cfLines(text string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#"):
		case (l[0] == ' ' || l[0] == '\t') && len(out) > 0:
			out[len(out)-1] += " " + strings.TrimSpace(l)
		default:
			out = append(out, l)
		}
	}
	return out
}

// postfixOptions builds the harness options from the folder's main.cf, master.cf and the maps
// they name. listeners maps each production listener ("203.0.113.26:smtp") to its service name.
func (x *example) postfixOptions(relayTo string) (harness.PostfixOptions, map[string]string, error) {
	var po harness.PostfixOptions
	mainText, err := x.read("main.cf")
	if err != nil {
		return po, nil, err
	}
	masterText, err := x.read("master.cf")
	if err != nil {
		return po, nil, err
	}
	mainCF := cfLines(x.substitute(mainText))
	hostname := "internet"
	for _, l := range mainCF {
		if k, v, ok := strings.Cut(l, "="); ok && strings.TrimSpace(k) == "myhostname" {
			hostname = strings.TrimSpace(v)
		}
	}
	listeners := map[string]string{}
	var services []harness.Service
	var other []string
	for _, entry := range cfLines(x.substitute(masterText)) {
		f := strings.Fields(entry)
		if len(f) < 8 {
			return po, nil, fmt.Errorf("example %s: master.cf entry %q has fewer than 8 fields", exampleFolder, entry)
		}
		if f[1] != "inet" {
			f[4] = "n" // no chroot: the instance's paths live outside its queue directory
			other = append(other, strings.Join(f, " "))
			continue
		}
		svc := harness.Service{Name: hostname}
		for i := 8; i < len(f); i++ {
			if f[i] != "-o" || i+1 == len(f) {
				return po, nil, fmt.Errorf("example %s: master.cf listener %s: only -o name=value is supported, got %q", exampleFolder, f[0], f[i])
			}
			i++
			name, value, _ := strings.Cut(f[i], "=")
			switch name {
			case "milter_macro_daemon_name":
				svc.Name = value
			case "syslog_name": // the harness sets it from the service name
			default:
				svc.Args = append(svc.Args, f[i])
			}
		}
		listeners[f[0]] = svc.Name
		services = append(services, svc)
	}
	if len(services) == 0 {
		return po, nil, fmt.Errorf("example %s: master.cf has no listener", exampleFolder)
	}
	maps, err := x.maps(strings.Join(mainCF, "\n") + "\n" + strings.Join(other, "\n") + "\n" + masterText)
	if err != nil {
		return po, nil, err
	}
	po = harness.PostfixOptions{
		Name: "demo", RelayTo: relayTo,
		SMTPD: services[0], Services: services[1:],
		MainCF: mainCF, MasterCF: other, Maps: maps,
	}
	return po, listeners, nil
}

var mapRefRE = regexp.MustCompile(`\b(hash|lmdb|cidr|texthash|regexp|pcre):(?:\$config_directory|/etc/postfix)/([A-Za-z0-9._-]+)`)

// maps reads every lookup table the configuration names from the folder.
func (x *example) maps(conf string) ([]harness.Map, error) {
	seen := map[string]bool{}
	var out []harness.Map
	for _, m := range mapRefRE.FindAllStringSubmatch(conf, -1) {
		typ, name := m[1], m[2]
		if seen[name] {
			continue
		}
		seen[name] = true
		text, err := x.read(name)
		if err != nil {
			return nil, err
		}
		lines := strings.Split(strings.TrimRight(x.substitute(text), "\n"), "\n")
		if name == "exchange-online.cidr" {
			lines = append(lines, "# demo: the loopback clients stand in for Exchange Online", "127.0.0.0/8 OK")
		}
		out = append(out, harness.Map{Name: name, Type: typ, Lines: lines})
	}
	return out, nil
}
