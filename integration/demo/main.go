// Command demo is `make demo`: it runs postfix-examples/two-tenants in a throwaway Postfix with
// edgerewrite and recording sinks, sends a handful of messages (outbound from each tenant, a
// reply from the Internet, hairpin, a spoofing attempt, a cutover defer), prints what went in
// and what came out of each, tears everything down and exits 0 only when every message behaved
// as expected.
//
//	go run ./integration/demo -bin bin/edgerewrite
//
// It needs root and Postfix (`make deps`), like the end-to-end tests.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

func main() {
	bin := flag.String("bin", "bin/edgerewrite", "the edgerewrite binary to run (`make build` writes bin/edgerewrite)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./integration/demo [-bin bin/edgerewrite]\n\n"+
			"Runs postfix-examples/two-tenants in a throwaway Postfix with edgerewrite, sends sample\n"+
			"messages and prints each one before -> after. Needs root and Postfix (make deps).\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, *bin)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(os.Stderr, "demo: interrupted; everything it started is stopped and removed")
		os.Exit(130)
	default:
		fmt.Fprintf(os.Stderr, "demo failed: %v\n", err)
		os.Exit(1)
	}
}

// repoRoot is the directory holding postfix-examples/: the working directory or the nearest
// parent with it (go run and go test run in different directories).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if fi, err := os.Stat(filepath.Join(d, "postfix-examples")); err == nil && fi.IsDir() {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no postfix-examples/ in %s or above: run the demo from the edgerewrite repository", dir)
		}
	}
}

// checkBin resolves the binary and says how to get one when it is missing.
func checkBin(bin string) (string, error) {
	abs, err := filepath.Abs(bin)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("edgerewrite binary %s: %w (run `make build` first, or pass -bin)", bin, err)
	}
	out, err := exec.Command(abs, "version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s version: %w: %s", abs, err, strings.TrimSpace(string(out)))
	}
	return abs, nil
}
