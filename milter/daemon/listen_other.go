//go:build !linux

package daemon

import (
	"fmt"
	"io/fs"
	"os"
)

// chmodChownNoFollow sets mode, and group gid when gid >= 0, on the unix socket file at path,
// refusing anything but a socket there. Outside Linux there is no O_PATH: the check and the
// change are two steps (the daemon runs on Linux; this serves development machines).
func chmodChownNoFollow(path string, mode os.FileMode, gid int) error {
	st, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if st.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("it is no longer the socket just created (%s); something replaced it", st.Mode())
	}
	if gid >= 0 {
		if err := os.Lchown(path, -1, gid); err != nil {
			return fmt.Errorf("%w %d: %w", errChown, gid, err)
		}
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("setting mode %#o: %w", mode, err)
	}
	return nil
}
