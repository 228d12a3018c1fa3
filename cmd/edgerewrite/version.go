package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
)

func versionFlags(*flag.FlagSet) func(stdout, stderr io.Writer) int {
	return func(stdout, _ io.Writer) int {
		fmt.Fprintf(stdout, "edgerewrite %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitOK
	}
}
