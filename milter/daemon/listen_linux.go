package daemon

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// chmodChownNoFollow sets mode, and group gid when gid >= 0, on the unix socket file at path.
// A path (or a symlink put at it by someone who can write the socket's directory) is never
// followed: the file itself is opened with O_PATH|O_NOFOLLOW, checked to be a socket, and
// changed through that descriptor (fchownat with AT_EMPTY_PATH; chmod of /proc/self/fd/N,
// which names the opened file, since fchmod does not take an O_PATH descriptor). chmod and
// chown by path would follow a symlink and change its target instead.
func chmodChownNoFollow(path string, mode os.FileMode, gid int) error {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening it to set its mode: %w", err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("checking it: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return fmt.Errorf("it is no longer the socket just created (mode %#o); something replaced it", st.Mode)
	}
	if gid >= 0 {
		if err := unix.Fchownat(fd, "", -1, gid, unix.AT_EMPTY_PATH); err != nil {
			return fmt.Errorf("%w %d: %w", errChown, gid, err)
		}
	}
	if err := os.Chmod("/proc/self/fd/"+strconv.Itoa(fd), mode); err != nil {
		return fmt.Errorf("setting mode %#o: %w", mode, err)
	}
	return nil
}
