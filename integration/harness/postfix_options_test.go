package harness

import (
	"strings"
	"testing"
)

func TestPostfixOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opts PostfixOptions
		want string // substring of the error; "" means valid
	}{
		{"zero value", PostfixOptions{}, ""},
		{"full", PostfixOptions{Services: []Service{{Name: "smtpd-tenant-a", Args: []string{"smtpd_milters="}}},
			MilterMacros: map[string]string{"connect": "{daemon_name}", "end_of_data": "i"}}, ""},
		{"duplicate name", PostfixOptions{Services: []Service{{Name: "smtpd"}}}, `service name "smtpd" used twice`},
		{"bad name", PostfixOptions{Services: []Service{{Name: "a b"}}}, `name "a b"`},
		{"arg with blank", PostfixOptions{SMTPD: Service{Args: []string{"smtpd_milters=a, b"}}}, "without blanks"},
		{"arg without =", PostfixOptions{SMTPD: Service{Args: []string{"-o"}}}, "name=value"},
		{"tls without key", PostfixOptions{SMTPD: Service{TLS: &ServerTLS{CertFile: "x"}}}, "CertFile and KeyFile"},
		{"unknown stage", PostfixOptions{MilterMacros: map[string]string{"eoh": "i"}}, `stage "eoh" unknown`},
		{"map clash", PostfixOptions{Maps: []Map{{Name: "main.cf"}}}, `map name "main.cf"`},
	}
	for _, tc := range tests {
		err := tc.opts.validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestPostfixConfigRendering(t *testing.T) {
	p := &Postfix{Dir: "/tmp/i", ConfDir: "/tmp/i/conf", LogFile: "/tmp/i/log/maillog", opts: PostfixOptions{
		RelayTo: "127.0.0.1:2525", Milters: []string{"inet:127.0.0.1:1", "unix:/s"}, Transports: map[string]string{"a.example": "smtp:[127.0.0.1]:1"},
		MilterMacros: map[string]string{"connect": "{daemon_name}"}, MainCF: []string{"x = y"}, MasterCF: []string{"t unix - - n - - smtp"},
	}}
	p.listeners = []listener{
		{svc: Service{Name: "smtpd"}, addr: "127.0.0.1:20001"},
		{svc: Service{Name: "smtpd-tenant", Args: []string{"a=b"}, TLS: &ServerTLS{CertFile: "/c", KeyFile: "/k", CAFile: "/ca"}}, addr: "127.0.0.1:20002"},
	}
	main := p.mainCF()
	for _, want := range []string{
		"\nrelayhost = [127.0.0.1]:2525\n", "\nsmtpd_milters = inet:127.0.0.1:1, unix:/s\n", "\nmilter_default_action = tempfail\n",
		"\nmilter_connect_macros = {daemon_name}\n", "\ntransport_maps = lmdb:$config_directory/transport\n",
		"\nmaillog_file = /tmp/i/log/maillog\n", "\nmaillog_file_prefixes = /tmp/i\n", "\nx = y\n",
	} {
		if !strings.Contains(main, want) {
			t.Errorf("main.cf lacks %q:\n%s", want, main)
		}
	}
	if !strings.HasSuffix(main, "x = y\n") {
		t.Error("MainCF lines must come last")
	}
	master := p.masterCF()
	for _, want := range []string{
		"127.0.0.1:20001 inet n - n - - smtpd -o syslog_name=postfix/smtpd -o milter_macro_daemon_name=smtpd\n",
		"127.0.0.1:20002 inet n - n - - smtpd -o syslog_name=postfix/smtpd-tenant -o milter_macro_daemon_name=smtpd-tenant" +
			" -o smtpd_tls_security_level=may -o smtpd_tls_cert_file=/c -o smtpd_tls_key_file=/k -o smtpd_tls_ask_ccert=yes -o smtpd_tls_CAfile=/ca -o a=b\n",
		"\npostlog    unix-dgram n - n - 1 postlogd\n", "\nt unix - - n - - smtp\n",
	} {
		if !strings.Contains(master, want) {
			t.Errorf("master.cf lacks %q:\n%s", want, master)
		}
	}
	for _, l := range strings.Split(master, "\n") {
		if f := strings.Fields(l); len(f) > 4 && !strings.HasPrefix(l, "#") && f[4] != "n" {
			t.Errorf("master.cf line with chroot %q: %s", f[4], l)
		}
	}
}
