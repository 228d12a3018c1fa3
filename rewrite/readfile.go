package rewrite

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// DefaultMaxFileSize is the largest rule file a load reads when Options.MaxFileSize is 0, and
// a sensible bound for any file the daemon reads. A million rules (the scale the table is built
// for) take about 60 MiB as a native file and about 90 MiB as an Exchange CSV; a file larger
// than this is no rule file, and reading it whole could exhaust the gateway's memory.
const DefaultMaxFileSize = 256 << 20

var (
	// ErrNotRegular: a path that should name a file names a directory, a FIFO, a socket or a
	// device. Reading a FIFO blocks until someone writes to it, and /dev/zero never ends.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge: a file over the size limit.
	ErrTooLarge = errors.New("file too large")
)

// ReadFile reads the regular file at path (a symlink to one is followed), at most limit bytes
// (DefaultMaxFileSize when limit <= 0). Anything else is refused without reading from it: a
// directory, FIFO, socket or device is an ErrNotRegular error, a file over the limit an
// ErrTooLarge one; errors are *fs.PathError, as those of os.ReadFile.
//
// The file is opened non-blocking and checked with fstat on the opened descriptor, so a FIFO
// swapped in after a caller's stat cannot block the reader (opening a FIFO for reading would
// otherwise wait for a writer), and the read stops at the limit even when the file grows while
// it is read.
func ReadFile(path string, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxFileSize
	}
	f, fi, err := openRegular(path, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	buf.Grow(int(min(fi.Size(), limit)) + 1)
	if _, err := buf.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	if int64(buf.Len()) > limit {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: it grew over %d bytes while it was read", ErrTooLarge, limit)}
	}
	return buf.Bytes(), nil
}

// checkRegular returns an ErrNotRegular or ErrTooLarge error for a file that ReadFile refuses.
// openRegular opens the regular file at path for reading, as ReadFile does: non-blocking, and
// checked with fstat on the opened descriptor, so nothing but a regular file of at most limit
// bytes is ever read from. The caller closes the file.
func openRegular(path string, limit int64) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkRegular(fi, limit)
	}
	if err != nil {
		f.Close()
		return nil, nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	return f, fi, nil
}

func checkRegular(fi fs.FileInfo, limit int64) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w but %s; only regular files (or symlinks to them) are read", ErrNotRegular, fileKind(fi.Mode()))
	}
	if fi.Size() > limit {
		return fmt.Errorf("%w: %d bytes, over the limit of %d", ErrTooLarge, fi.Size(), limit)
	}
	return nil
}

// fileKind names the type of a file that is not regular, for the admin.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	default:
		return "an irregular file"
	}
}
