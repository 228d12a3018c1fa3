package integration

import (
	"bufio"
	"regexp"
	"strings"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// How a postfix-examples folder's files become a test instance's configuration: the
// substitution table of examples_test.go, applied to the published text.

var nexthopRE = regexp.MustCompile(`\b([a-z0-9-]+):\[([^\]]+)\]`)

// substitute applies the substitution table to a file's text.
func (ex *example) substitute(s string) string {
	s = strings.ReplaceAll(s, "/etc/postfix/tls/", ex.tlsDir+"/")
	s = strings.ReplaceAll(s, "/etc/ssl/certs/ca-certificates.crt", ex.ca.CertFile)
	s = strings.ReplaceAll(s, "/etc/postfix/", "$config_directory/")
	s = strings.ReplaceAll(s, "smtp_bind_address = 203.0.113.25", "smtp_bind_address = 127.0.0.1")
	s = nexthopRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := nexthopRE.FindStringSubmatch(m)
		if h := ex.opts.Hops[sub[1]]; h != nil {
			return sub[1] + ":" + h.Nexthop()
		}
		if h := ex.opts.Hops[sub[2]]; h != nil {
			return sub[1] + ":" + h.Nexthop()
		}
		return m
	})
	for from, to := range ex.opts.Networks {
		s = strings.ReplaceAll(s, from, to)
	}
	for from, to := range ex.opts.Substitute {
		s = strings.ReplaceAll(s, from, to)
	}
	return s
}

// cfLines turns main.cf text into logical lines: comments and blank lines dropped,
// continuation lines (leading blank) joined.
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

// masterCF splits the master.cf fragment: each inet smtpd listener becomes a harness Service
// on a free port (named after its milter_macro_daemon_name, "internet" without one; the harness
// sets syslog_name and milter_macro_daemon_name from the name), every other service is passed
// on as one line with chroot "n".
func (ex *example) masterCF(text string) ([]harness.Service, []string) {
	t := ex.t
	var services []harness.Service
	var other []string
	for _, entry := range cfLines(text) {
		f := strings.Fields(entry)
		if len(f) < 8 {
			t.Fatalf("master.cf entry %q: fewer than 8 fields", entry)
		}
		if f[1] != "inet" {
			f[4] = "n"
			other = append(other, strings.Join(f, " "))
			continue
		}
		svc := harness.Service{Name: "internet"}
		args := f[8:]
		for i := 0; i < len(args); i++ {
			if args[i] != "-o" || i+1 == len(args) {
				t.Fatalf("master.cf listener %s: only -o name=value arguments are supported, got %q", f[0], args[i])
			}
			i++
			name, value, _ := strings.Cut(args[i], "=")
			switch name {
			case "milter_macro_daemon_name":
				svc.Name = value
			case "syslog_name":
			default:
				svc.Args = append(svc.Args, args[i])
			}
		}
		ex.listeners[f[0]] = svc.Name
		services = append(services, svc)
	}
	if len(services) == 0 {
		t.Fatal("master.cf fragment has no listener")
	}
	return services, other
}

var mapRefRE = regexp.MustCompile(`\b(hash|lmdb|cidr|texthash|regexp|pcre):\$config_directory/([A-Za-z0-9._-]+)`)

// collectMaps finds the lookup tables main.cf and master.cf name and reads each from the
// folder (substituted); exchange-online.cidr also admits loopback, which stands in for
// Exchange Online's addresses.
func (ex *example) collectMaps(conf string) {
	for _, m := range mapRefRE.FindAllStringSubmatch(conf, -1) {
		typ, name := m[1], m[2]
		lines := strings.Split(strings.TrimRight(ex.substitute(ex.read(name)), "\n"), "\n")
		if name == "exchange-online.cidr" {
			lines = append(lines, "# test: loopback clients stand in for Exchange Online", "127.0.0.0/8 OK")
		}
		ex.maps[name] = harness.Map{Name: name, Type: typ, Lines: lines}
	}
}
