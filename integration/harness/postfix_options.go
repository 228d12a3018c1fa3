package harness

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// PostfixOptions configure a throwaway Postfix instance. The zero value is a working instance
// that accepts mail on one smtpd listener from 127.0.0.0/8 and relays nowhere.
type PostfixOptions struct {
	// Name labels the instance: it is part of the temporary directory's name and of
	// syslog_name ("postfix-NAME"). Default "postfix".
	Name string
	// RelayTo is the host:port every message is relayed to (relayhost = [host]:port), normally
	// Sink.Addr(). Empty: no relayhost; route with Transports or MainCF.
	RelayTo string
	// SMTPD is the primary smtpd listener. Its Name defaults to "smtpd".
	SMTPD Service
	// Services are further smtpd listeners, each on its own free port.
	Services []Service
	// Milters is smtpd_milters, e.g. "inet:127.0.0.1:9754" (applies to every listener unless a
	// Service overrides it with Args).
	Milters []string
	// MilterDefaultAction is milter_default_action. Default "tempfail".
	MilterDefaultAction string
	// MilterMacros set milter_STAGE_macros; keys are the STAGE part of the parameter name:
	// connect, helo, mail, rcpt, data, end_of_header, end_of_data, unknown_command.
	MilterMacros map[string]string
	// Transports are transport_maps entries (key -> "transport:nexthop"), written to
	// $config_directory/transport as an lmdb map.
	Transports map[string]string
	// Maps are further lookup tables written into $config_directory before start; refer to
	// one from MainCF as TYPE:$config_directory/NAME (Postfix expands $config_directory).
	Maps []Map
	// MainCF lines are appended to main.cf after the harness's own, so they win.
	MainCF []string
	// MasterCF lines are appended to master.cf (other services, e.g. an smtp transport with
	// its own client certificate).
	MasterCF []string
	// StartTimeout bounds the wait for the listeners. Default 10 s.
	StartTimeout time.Duration
	// Keep leaves the instance directory in place after Stop (for debugging). The environment
	// variable EDGEREWRITE_KEEP_POSTFIX=1 does the same.
	Keep bool
}

// Service is one smtpd listener on 127.0.0.1 and a free port chosen by the harness.
type Service struct {
	// Name is the service's identity: it becomes -o syslog_name=postfix/NAME and
	// -o milter_macro_daemon_name=NAME, so a milter sees it as {daemon_name} (Postfix's default
	// for {daemon_name} is $myhostname, not the master.cf service name).
	Name string
	// Args are extra per-service parameters as "name=value"; each becomes -o name=value.
	// Values must not contain spaces (master.cf splits on them).
	Args []string
	// TLS, when set, offers STARTTLS on this listener.
	TLS *ServerTLS
}

// ServerTLS is the TLS setup of one smtpd listener.
type ServerTLS struct {
	// CertFile and KeyFile are the server certificate chain and key (PEM).
	CertFile, KeyFile string
	// CAFile, when set, makes smtpd ask for a client certificate (smtpd_tls_ask_ccert = yes)
	// and verify it against these CAs: only a verified certificate fills {cert_subject}.
	CAFile string
	// Level is smtpd_tls_security_level: "may" (default) or "encrypt".
	Level string
}

// Map is a lookup table file. Lines are written as they are, in order.
type Map struct {
	// Name is the file name under $config_directory.
	Name string
	// Type is the Postfix map type: "lmdb" (default) or "hash" are compiled with postmap;
	// "regexp", "pcre", "cidr" and "texthash" are used as plain files.
	Type string
	// Lines are the table's lines, e.g. "bob@example.com HOLD".
	Lines []string
}

// milterStage reports whether s is the STAGE part of a milter_STAGE_macros parameter.
func milterStage(s string) bool {
	switch s {
	case "connect", "helo", "mail", "rcpt", "data", "end_of_header", "end_of_data", "unknown_command":
		return true
	}
	return false
}

var serviceNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// validate checks what Postfix would otherwise reject with a message only in its log.
func (o *PostfixOptions) validate() error {
	var errs []string
	names := map[string]bool{}
	for i, s := range append([]Service{o.SMTPD}, o.Services...) {
		name := s.Name
		if i == 0 && name == "" {
			name = "smtpd"
		}
		if !serviceNameRE.MatchString(name) {
			errs = append(errs, fmt.Sprintf("service %d: name %q must be letters, digits, '.', '_' or '-'", i, name))
		}
		if names[name] {
			errs = append(errs, fmt.Sprintf("service name %q used twice", name))
		}
		names[name] = true
		for _, a := range s.Args {
			if !strings.Contains(a, "=") || strings.ContainsAny(a, " \t\n") {
				errs = append(errs, fmt.Sprintf("service %q: arg %q must be name=value without blanks", name, a))
			}
		}
		if s.TLS != nil && (s.TLS.CertFile == "" || s.TLS.KeyFile == "") {
			errs = append(errs, fmt.Sprintf("service %q: TLS needs CertFile and KeyFile", name))
		}
	}
	stages := make([]string, 0, len(o.MilterMacros))
	for k := range o.MilterMacros {
		stages = append(stages, k)
	}
	sort.Strings(stages)
	for _, k := range stages {
		if !milterStage(k) {
			errs = append(errs, fmt.Sprintf("milter macro stage %q unknown (want connect, helo, mail, rcpt, data, end_of_header, end_of_data or unknown_command)", k))
		}
	}
	for _, m := range o.Maps {
		if m.Name == "" || strings.ContainsAny(m.Name, "/ ") || m.Name == "main.cf" || m.Name == "master.cf" || m.Name == "transport" && len(o.Transports) > 0 {
			errs = append(errs, fmt.Sprintf("map name %q is not a plain, free file name", m.Name))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("postfix options: %s", strings.Join(errs, "; "))
	}
	return nil
}
