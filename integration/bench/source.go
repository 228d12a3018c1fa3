package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// sourceSpec is one smtp-source invocation.
type sourceSpec struct {
	Addr     string // host:port of the Postfix smtpd
	Messages int    // -m
	Sessions int    // -s
	Reuse    bool   // -d: all of a session's messages over one connection
	File     string // -F: the message
}

// rcptsPerMessage is smtp-source's -r.
const rcptsPerMessage = 3

// heloName is smtp-source's -M (HELO name).
const heloName = "relay.tenanta.contoso.com"

// args are the smtp-source arguments. -N numbers the recipients ("<seq>user@contoso.com"), so
// every message has its own three; -f is the envelope sender the rules rewrite.
func (s sourceSpec) args() []string {
	a := []string{
		"-s", strconv.Itoa(s.Sessions),
		"-m", strconv.Itoa(s.Messages),
		"-r", strconv.Itoa(rcptsPerMessage), "-N",
		"-f", internalAddr(senderUser),
		"-t", rcptTemplate,
		"-M", heloName,
		"-F", s.File,
	}
	if s.Reuse {
		a = append(a, "-d")
	}
	return append(a, s.Addr)
}

// commandLine renders the invocation for the report.
func (s sourceSpec) commandLine() string {
	return "smtp-source " + strings.Join(s.args(), " ")
}

// runSource runs smtp-source to completion. smtp-source stops at the first reply it did not
// expect (a 4xx from a milter, say) and exits non-zero: that is an error here.
func runSource(ctx context.Context, s sourceSpec) error {
	cmd := exec.CommandContext(ctx, "smtp-source", s.args()...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", s.commandLine(), err, strings.TrimSpace(out.String()))
	}
	return nil
}
