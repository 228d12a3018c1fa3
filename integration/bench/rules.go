package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
)

// The rule set every rewriting configuration gets, once as edgerewrite rules and once as
// Postfix canonical maps.
//
// smtp-source -N makes the envelope recipients "<seq>" + the -t address, with seq counting up
// from 1 over the whole run (three per message with -r 3). So the per-user addresses are
// "<N>user@domain" rather than "user<N>@domain": every recipient smtp-source generates then
// has its own rule, and no two messages share one.
const (
	internalDomain = "tenanta.contoso.com"
	externalDomain = "contoso.com"
	userSuffix     = "user"
)

// domainRules are the few domain rules beside the address rules (internal, external). None of
// the benchmark's addresses hits them: they are in the tables as a real rule set has some.
var domainRules = [][2]string{
	{"fabrikam1.onmicrosoft.com", "fabrikam1.com"},
	{"fabrikam2.onmicrosoft.com", "fabrikam2.com"},
	{"fabrikam3.onmicrosoft.com", "fabrikam3.com"},
	{"fabrikam4.onmicrosoft.com", "fabrikam4.com"},
}

// internalAddr and externalAddr are user n's two addresses.
func internalAddr(n int) string { return fmt.Sprintf("%d%s@%s", n, userSuffix, internalDomain) }
func externalAddr(n int) string { return fmt.Sprintf("%d%s@%s", n, userSuffix, externalDomain) }

// writeNativeRules writes users.rules (n bidirectional address rules, users 1..n) and
// domains.rules into dir, edgerewrite's native format (INTERNAL EXTERNAL).
func writeNativeRules(dir string, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "users.rules"))
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	fmt.Fprintf(w, "# %d address rules written by integration/bench\n", n)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(w, "%s %s\n", internalAddr(i), externalAddr(i))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	d := "# domain rules written by integration/bench\n"
	for _, r := range domainRules {
		d += r[0] + " " + r[1] + "\n"
	}
	return os.WriteFile(filepath.Join(dir, "domains.rules"), []byte(d), 0o644)
}

// writeEmptyRules writes a rules directory whose one file holds no rule: configuration (d).
func writeEmptyRules(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "none.rules"), []byte("# no rules: the milter protocol's floor\n"), 0o644)
}

// canonicalMaps returns the same mappings as Postfix lookup-table lines:
// sender_canonical_maps (internal -> external) and recipient_canonical_maps (external ->
// internal). A domain rule becomes "@internal @external" (and the reverse), which Postfix's
// canonical lookup tries after the full address.
func canonicalMaps(n int) (sender, recipient []string) {
	sender = make([]string, 0, n+len(domainRules))
	recipient = make([]string, 0, n+len(domainRules))
	for i := 1; i <= n; i++ {
		in, ex := internalAddr(i), externalAddr(i)
		sender = append(sender, in+" "+ex)
		recipient = append(recipient, ex+" "+in)
	}
	for _, r := range domainRules {
		sender = append(sender, "@"+r[0]+" @"+r[1])
		recipient = append(recipient, "@"+r[1]+" @"+r[0])
	}
	return sender, recipient
}
