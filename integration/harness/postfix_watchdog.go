package harness

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// watchdog is a shell, in its own process group, blocked reading a pipe whose only writer is
// this process. If this process dies without Stop, the read ends and the shell stops the
// instance's process group and removes its directory. Pdeathsig cannot do this: the master
// changes its effective uid (to create files as mail_owner), which clears it.
type watchdog struct {
	cmd  *exec.Cmd
	pipe *os.File // the write end; never written, only held
}

const watchdogScript = `read line
kill -TERM -"$1" 2>/dev/null
sleep 2
kill -KILL -"$1" 2>/dev/null
sleep 1
if [ -n "$2" ]; then rm -rf -- "$2"; fi`

func startWatchdog(pgid int, removeDir string) (*watchdog, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command("/bin/sh", "-c", watchdogScript, "edgerewrite-postfix-watchdog", strconv.Itoa(pgid), removeDir)
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("postfix watchdog: %w", err)
	}
	return &watchdog{cmd: cmd, pipe: w}, nil
}

// disarm ends the watchdog without letting it act.
func (wd *watchdog) disarm() {
	if wd == nil {
		return
	}
	_ = wd.cmd.Process.Kill()
	_ = wd.cmd.Wait()
	wd.pipe.Close()
}
