//go:build !linux

package rewrite

import "os"

// inodeOf is Linux-only: elsewhere a rule file's version is told by its size and mtime alone
// (an admin running `edgerewrite check` on a workstation needs no more).
func inodeOf(os.FileInfo) (ctime int64, dev, ino uint64) { return 0, 0, 0 }
