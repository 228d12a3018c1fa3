package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// mainCF renders main.cf. Everything the instance needs is explicit, so that nothing depends on
// /etc/postfix (which holds only dynamicmaps.cf on a machine installed with "No configuration").
func (p *Postfix) mainCF() string {
	o := &p.opts
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("# Written by edgerewrite's integration harness for a throwaway instance.")
	line("compatibility_level = 3.6")
	line("queue_directory = %s", filepath.Join(p.Dir, "queue"))
	line("data_directory = %s", filepath.Join(p.Dir, "data"))
	line("syslog_name = postfix")
	// maillog_file needs the postlog service in master.cf and a prefix that covers the file.
	line("maillog_file = %s", p.LogFile)
	line("maillog_file_prefixes = %s", p.Dir)
	line("inet_interfaces = 127.0.0.1")
	line("inet_protocols = ipv4")
	line("myhostname = mx.edgerewrite.test")
	line("mydomain = edgerewrite.test")
	line("myorigin = $myhostname")
	line("mydestination =")
	line("mynetworks = 127.0.0.0/8")
	line("alias_maps =")
	line("alias_database =")
	line("local_recipient_maps =")
	line("biff = no")
	// The banner names the instance, so the start-up probe cannot mistake another instance
	// that got the same port for this one.
	line("smtpd_banner = $myhostname ESMTP %s", p.id())
	// No DNS anywhere: next hops are IP literals, clients are 127.0.0.x.
	line("smtp_dns_support_level = disabled")
	line("smtpd_peername_lookup = no")
	// Fast and predictable for tests: no throttling, no sleeping before error replies,
	// deferred mail retried within seconds.
	line("in_flow_delay = 0")
	line("smtpd_error_sleep_time = 0")
	line("queue_run_delay = 1s")
	line("minimal_backoff_time = 1s")
	line("maximal_backoff_time = 4s")
	line("delay_warning_time = 0")
	line("smtpd_tls_received_header = yes")
	line("smtpd_tls_loglevel = 1")
	if o.RelayTo != "" {
		host, port, _ := strings.Cut(o.RelayTo, ":")
		line("relayhost = [%s]:%s", host, port)
	}
	if len(o.Transports) > 0 {
		line("transport_maps = lmdb:$config_directory/transport")
	}
	line("milter_protocol = 6")
	action := o.MilterDefaultAction
	if action == "" {
		action = "tempfail"
	}
	line("milter_default_action = %s", action)
	if len(o.Milters) > 0 {
		line("smtpd_milters = %s", strings.Join(o.Milters, ", "))
	}
	for _, stage := range sortedKeys(o.MilterMacros) {
		line("milter_%s_macros = %s", stage, o.MilterMacros[stage])
	}
	for _, l := range o.MainCF {
		line("%s", l)
	}
	return b.String()
}

// masterCF renders master.cf: chroot "n" everywhere (unix: milter sockets and map paths outside
// the queue directory must work) and the postlog service that maillog_file needs.
func (p *Postfix) masterCF() string {
	var b strings.Builder
	b.WriteString("# Written by edgerewrite's integration harness. chroot is n everywhere.\n")
	for _, l := range p.listeners {
		fmt.Fprintf(&b, "%s inet n - n - - smtpd%s\n", l.addr, serviceArgs(l.svc))
	}
	b.WriteString(`pickup     unix  n - n 60    1 pickup
cleanup    unix  n - n -     0 cleanup
qmgr       unix  n - n 300   1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n -     - trivial-rewrite
bounce     unix  - - n -     0 bounce
defer      unix  - - n -     0 bounce
trace      unix  - - n -     0 bounce
verify     unix  - - n -     1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -     - proxymap
proxywrite unix  - - n -     1 proxymap
smtp       unix  - - n -     - smtp
relay      unix  - - n -     - smtp
showq      unix  n - n -     - showq
error      unix  - - n -     - error
retry      unix  - - n -     - error
discard    unix  - - n -     - discard
anvil      unix  - - n -     1 anvil
scache     unix  - - n -     1 scache
postlog    unix-dgram n - n - 1 postlogd
`)
	for _, l := range p.opts.MasterCF {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// serviceArgs renders the -o options of one smtpd listener.
func serviceArgs(s Service) string {
	var args []string
	args = append(args, "syslog_name=postfix/"+s.Name, "milter_macro_daemon_name="+s.Name)
	if t := s.TLS; t != nil {
		level := t.Level
		if level == "" {
			level = "may"
		}
		args = append(args, "smtpd_tls_security_level="+level,
			"smtpd_tls_cert_file="+t.CertFile, "smtpd_tls_key_file="+t.KeyFile)
		if t.CAFile != "" {
			args = append(args, "smtpd_tls_ask_ccert=yes", "smtpd_tls_CAfile="+t.CAFile)
		}
	}
	args = append(args, s.Args...)
	var b strings.Builder
	for _, a := range args {
		b.WriteString(" -o " + a)
	}
	return b.String()
}

// writeMaps writes the transport table and every Map into the config directory and compiles the
// indexed ones with postmap.
func (p *Postfix) writeMaps() error {
	maps := append([]Map(nil), p.opts.Maps...)
	if len(p.opts.Transports) > 0 {
		var lines []string
		for _, k := range sortedKeys(p.opts.Transports) {
			lines = append(lines, k+" "+p.opts.Transports[k])
		}
		maps = append(maps, Map{Name: "transport", Type: "lmdb", Lines: lines})
	}
	for _, m := range maps {
		path := filepath.Join(p.ConfDir, m.Name)
		if err := writeConfFile(path, strings.Join(m.Lines, "\n")+"\n"); err != nil {
			return err
		}
		typ := m.Type
		if typ == "" {
			typ = "lmdb"
		}
		if typ != "lmdb" && typ != "hash" {
			continue
		}
		out, err := exec.Command("postmap", "-c", p.ConfDir, typ+":"+path).CombinedOutput()
		if err != nil {
			return fmt.Errorf("postmap %s:%s: %w: %s", typ, path, err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// writeConfFile writes a file Postfix reads and dates it 10 s back: Postfix's dict_load_file
// re-reads a file whose mtime is within the last second, pausing 300 ms each time ("pausing to
// let FILE finish changing"), which made every start and every postconf take 1.5-2.5 s.
func writeConfFile(path, content string) error {
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	past := time.Now().Add(-10 * time.Second)
	return os.Chtimes(path, past, past)
}

// id names the instance in its smtpd banner: the base name of its directory, unique on this host.
func (p *Postfix) id() string { return filepath.Base(p.Dir) }
