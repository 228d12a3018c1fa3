package harness

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Substitutions say what a postfix-examples folder's files get instead of what cannot exist on a
// test or demo machine; everything else is used as published:
//
//	in the folder                                        instead
//	/etc/postfix/tls/NAME.pem                            CA.Dir/NAME.pem (WriteExampleCerts)
//	/etc/ssl/certs/ca-certificates.crt                   CA.CertFile
//	/etc/postfix/NAME                                    $config_directory/NAME
//	smtp_bind_address = 203.0.113.25                     127.0.0.1
//	transport next hops "tenanta:[...outlook.com]"       "tenanta:" + Hops["tenanta"] (by transport,
//	                                                     or by host for the plain smtp transport)
//	Networks and Extra keys                              their values
type Substitutions struct {
	// CA issued the certificates written by WriteExampleCerts; it stands in for every CA.
	CA *CA
	// Hops map a next hop of the folder's transport file to its stand-in, e.g. a TLS sink's
	// Nexthop: the key is the transport ("tenanta", "cloud") or, for the plain smtp transport,
	// the host ("mailstore.contoso.edu").
	Hops map[string]string
	// Networks map an on-premises server's production address to the loopback address that
	// stands in for it ("10.20.0.25" -> "127.0.0.4").
	Networks map[string]string
	// Extra are further exact replacements in every file (e.g. the OpenDKIM port).
	Extra map[string]string
	// PublicName is the service name of a master.cf listener without milter_macro_daemon_name
	// ("" means "internet").
	PublicName string
}

// Example is a postfix-examples folder read and substituted for a throwaway instance.
type Example struct {
	// Dir is the folder; Subs what LoadExample substituted.
	Dir  string
	Subs Substitutions
	// Postfix are the instance's options from main.cf, master.cf and the lookup tables they
	// name. Name is the folder's name; set RelayTo (the Internet's stand-in) before starting it.
	// Each master.cf inet smtpd listener is a Service on a free port (named after its
	// milter_macro_daemon_name; the harness sets syslog_name and milter_macro_daemon_name from
	// the name); every other master.cf entry is passed on with chroot "n".
	Postfix PostfixOptions
	// Listeners map each production listener ("203.0.113.26:smtp") to its service name.
	Listeners map[string]string
}

// LoadExample reads the folder dir (postfix-examples/NAME) and builds its Postfix options.
// Lookup tables get what Substitute does; exchange-online.cidr also admits loopback, whose
// clients stand in for Exchange Online.
func LoadExample(dir string, subs Substitutions) (*Example, error) {
	if subs.PublicName == "" {
		subs.PublicName = "internet"
	}
	x := &Example{Dir: dir, Subs: subs, Listeners: map[string]string{}}
	mainText, err := x.Read("main.cf")
	if err != nil {
		return nil, err
	}
	masterText, err := x.Read("master.cf")
	if err != nil {
		return nil, err
	}
	mainCF := CFLines(x.Substitute(mainText))
	masterSub := x.Substitute(masterText)
	var services []Service
	var other []string
	for _, entry := range CFLines(masterSub) {
		f := strings.Fields(entry)
		if len(f) < 8 {
			return nil, x.errorf("master.cf entry %q has fewer than 8 fields", entry)
		}
		if f[1] != "inet" {
			f[4] = "n" // no chroot: the instance's paths live outside its queue directory
			other = append(other, strings.Join(f, " "))
			continue
		}
		svc := Service{Name: subs.PublicName}
		for i := 8; i < len(f); i++ {
			if f[i] != "-o" || i+1 == len(f) {
				return nil, x.errorf("master.cf listener %s: only -o name=value is supported, got %q", f[0], f[i])
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
		x.Listeners[f[0]] = svc.Name
		services = append(services, svc)
	}
	if len(services) == 0 {
		return nil, x.errorf("master.cf has no listener")
	}
	maps, err := x.maps(strings.Join(mainCF, "\n") + "\n" + masterSub)
	if err != nil {
		return nil, err
	}
	x.Postfix = PostfixOptions{
		Name:  filepath.Base(dir),
		SMTPD: services[0], Services: services[1:],
		MainCF: mainCF, MasterCF: other, Maps: maps,
	}
	return x, nil
}

// Read returns the folder's file name as published.
func (x *Example) Read(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(x.Dir, name))
	if err != nil {
		return "", x.errorf("%w", err)
	}
	return string(b), nil
}

var nexthopRE = regexp.MustCompile(`\b([a-z0-9-]+):\[([^\]]+)\]`)

// Substitute applies the Substitutions to a file's text.
func (x *Example) Substitute(s string) string {
	s = strings.ReplaceAll(s, "/etc/postfix/tls/", x.Subs.CA.Dir+"/")
	s = strings.ReplaceAll(s, "/etc/ssl/certs/ca-certificates.crt", x.Subs.CA.CertFile)
	s = strings.ReplaceAll(s, "/etc/postfix/", "$config_directory/")
	s = strings.ReplaceAll(s, "smtp_bind_address = 203.0.113.25", "smtp_bind_address = 127.0.0.1")
	s = nexthopRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := nexthopRE.FindStringSubmatch(m)
		if hop, ok := x.Subs.Hops[sub[1]]; ok {
			return sub[1] + ":" + hop
		}
		if hop, ok := x.Subs.Hops[sub[2]]; ok {
			return sub[1] + ":" + hop
		}
		return m
	})
	for from, to := range x.Subs.Networks {
		s = strings.ReplaceAll(s, from, to)
	}
	for from, to := range x.Subs.Extra {
		s = strings.ReplaceAll(s, from, to)
	}
	return s
}

// Map is the lookup table name of Postfix's options.
func (x *Example) Map(name string) (Map, bool) {
	for _, m := range x.Postfix.Maps {
		if m.Name == name {
			return m, true
		}
	}
	return Map{}, false
}

// CFLines turns main.cf or master.cf text into logical lines: comments and blank lines
// dropped, continuation lines (leading blank) joined.
func CFLines(text string) []string {
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

var mapRefRE = regexp.MustCompile(`\b(hash|lmdb|cidr|texthash|regexp|pcre):\$config_directory/([A-Za-z0-9._-]+)`)

// maps reads every lookup table the (substituted) configuration names from the folder.
func (x *Example) maps(conf string) ([]Map, error) {
	seen := map[string]bool{}
	var out []Map
	for _, m := range mapRefRE.FindAllStringSubmatch(conf, -1) {
		typ, name := m[1], m[2]
		if seen[name] {
			continue
		}
		seen[name] = true
		text, err := x.Read(name)
		if err != nil {
			return nil, err
		}
		lines := strings.Split(strings.TrimRight(x.Substitute(text), "\n"), "\n")
		if name == "exchange-online.cidr" {
			lines = append(lines, "# loopback clients stand in for Exchange Online", "127.0.0.0/8 OK")
		}
		out = append(out, Map{Name: name, Type: typ, Lines: lines})
	}
	return out, nil
}

func (x *Example) errorf(format string, a ...any) error {
	return fmt.Errorf("example %s: "+format, append([]any{filepath.Base(x.Dir)}, a...)...)
}
