package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"github.com/edgerewrite/edgerewrite/milter/config"
	"github.com/edgerewrite/edgerewrite/milter/daemon"
)

func serveFlags(fs *flag.FlagSet) func(stdout, stderr io.Writer) int {
	cfgPath := fs.String("c", config.DefaultConfigPath, "the config `file`")
	return func(_, stderr io.Writer) int {
		// SIGTERM (systemctl stop) and SIGINT drain and exit 0; Run handles SIGHUP itself.
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		err := daemon.Run(ctx, daemon.RunOptions{ConfigPath: *cfgPath, LogOutput: stderr, Version: version,
			CaptureStdLog: true})
		if err != nil {
			for _, p := range config.Problems(err) {
				fmt.Fprintln(stderr, p)
			}
			fmt.Fprintln(stderr, "edgerewrite serve: exiting on the error above")
			return exitProblem
		}
		return exitOK
	}
}
