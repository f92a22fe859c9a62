package board

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// LinkOrCopy hard-links src to dst, copying (and fsyncing) instead when
// the file system does not support links.
func LinkOrCopy(fsys FS, src, dst string) error {
	err := fsys.Link(src, dst)
	if err == nil || !linkUnsupported(err) {
		return err
	}
	return CopyInto(fsys, src, dst)
}

// linkUnsupported reports the errors with which file systems refuse hard
// links as such (rather than failing).
func linkUnsupported(err error) bool {
	for _, e := range []error{syscall.EXDEV, syscall.EPERM, syscall.ENOTSUP, syscall.EOPNOTSUPP, syscall.EMLINK} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// CopyInto copies src to a new file dst through fsys and fsyncs it. dst
// must not exist; a failed copy leaves no dst.
func CopyInto(fsys FS, src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := fsys.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if err != nil {
			_ = fsys.Remove(dst)
		}
	}()
	if _, err := io.CopyBuffer(out, in, make([]byte, 1<<20)); err != nil {
		return err
	}
	return out.Sync()
}
