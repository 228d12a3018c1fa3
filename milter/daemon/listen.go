package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/user"
	"strconv"
	"time"

	"github.com/edgerewrite/edgerewrite/milter/config"
)

// listenMilter opens the milter listener of cfg. A unix socket replaces a stale socket file (one
// no process answers on), gets socket_mode, and is given to socket_group (by default "postfix"
// when that group exists) so that Postfix's smtpd can connect.
func listenMilter(cfg *config.Config, log *slog.Logger) (net.Listener, error) {
	network, addr, err := cfg.ListenAddr()
	if err != nil {
		return nil, err
	}
	if network != "unix" {
		l, err := net.Listen(network, addr)
		if err != nil {
			return nil, fmt.Errorf("listening for Postfix on %q: %w", cfg.Listen, err)
		}
		return l, nil
	}
	mode, err := cfg.SocketFileMode()
	if err != nil {
		return nil, err
	}
	if err := removeStaleSocket(addr); err != nil {
		return nil, err
	}
	// The socket is made under a temporary name, given its mode and group, and only then
	// renamed into place: Postfix (another user) never finds it with the mode or group it is
	// created with, which would answer its connection "permission denied" and a message 451.
	tmp := addr + ".new"
	if err := removeStaleSocket(tmp); err != nil {
		return nil, err
	}
	l, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, fmt.Errorf("listening for Postfix on %q: %w", cfg.Listen, err)
	}
	ul := l.(*net.UnixListener)
	ul.SetUnlinkOnClose(false) // the name it was made under is gone; Close removes addr
	if err := setSocketAttrs(tmp, mode, cfg.SocketGroup, log); err != nil {
		l.Close()
		os.Remove(tmp)
		return nil, err
	}
	if err := os.Rename(tmp, addr); err != nil {
		l.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("socket %q: putting it in place: %w", addr, err)
	}
	return &socketListener{UnixListener: ul, path: addr}, nil
}

// socketListener removes its socket file when closed (the listener itself was made under
// another name, see listenMilter), unless another daemon's socket has taken the name since.
type socketListener struct {
	*net.UnixListener
	path string
}

// Close stops listening and removes the socket file.
func (l *socketListener) Close() error {
	fi, statErr := os.Lstat(l.path)
	err := l.UnixListener.Close()
	if statErr == nil && fi.Mode().Type() == fs.ModeSocket {
		if c, derr := net.DialTimeout("unix", l.path, 100*time.Millisecond); derr == nil {
			c.Close() // someone else answers there now: leave it
			return err
		}
		os.Remove(l.path)
	}
	return err
}

// removeStaleSocket removes a socket file left by a daemon that did not exit cleanly. A socket
// some process still answers on, and anything that is not a socket, are left alone: an error.
func removeStaleSocket(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("socket %q: %w", path, err)
	}
	if st.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("socket %q: a file that is not a socket is in the way; remove it or change listen", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("socket %q: another process is listening on it (is edgerewrite already running?)", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing stale socket %q: %w", path, err)
	}
	return nil
}

// setSocketAttrs gives the socket file at path mode and group (or "postfix" when group is
// empty and it exists), without following a symlink put in its place (chmodChownNoFollow). An
// explicitly configured group must work; the default is best effort.
func setSocketAttrs(path string, mode os.FileMode, group string, log *slog.Logger) error {
	explicit := group != ""
	if !explicit {
		group = config.DefaultSocketGroup
	}
	gid := -1
	if g, err := user.LookupGroup(group); err != nil {
		if explicit {
			return fmt.Errorf("socket_group %q: no such group", group)
		}
		log.Debug("no group to give the socket to", "group", group)
	} else if gid, err = strconv.Atoi(g.Gid); err != nil {
		return fmt.Errorf("socket_group %q: gid %q: %w", group, g.Gid, err)
	}
	err := chmodChownNoFollow(path, mode, gid)
	if err != nil && gid >= 0 && !explicit && errors.Is(err, errChown) {
		log.Warn("could not give the socket to group postfix; Postfix may not reach it", "socket", path, "err", err.Error())
		err = chmodChownNoFollow(path, mode, -1)
	}
	if err != nil {
		return fmt.Errorf("socket %q: %w", path, err)
	}
	return nil
}

// errChown is wrapped by chmodChownNoFollow's error when the group could not be set.
var errChown = errors.New("giving it to the group")
