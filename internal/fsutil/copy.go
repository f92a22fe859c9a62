// Package fsutil holds the plain file copy the other packages share (the
// swap's copies, which go through an injectable FS, are board.CopyInto).
package fsutil

import (
	"io"
	"io/fs"
	"os"
)

// CopyNew copies src to dst, which must not exist yet (O_EXCL: a copy
// never lands on top of another file). With durable set, dst is fsynced
// before it is closed. A failed copy removes dst, so a half copy never
// stands under the final name. Errors are the os package's (a missing src
// matches fs.ErrNotExist).
func CopyNew(src, dst string, perm fs.FileMode, durable bool) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = io.CopyBuffer(out, in, make([]byte, 1<<20))
	if err == nil && durable {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
	}
	return err
}
