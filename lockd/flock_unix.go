//go:build unix

package lockd

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// openLockFile opens path the way every lock file is opened: read-write
// (an exclusive flock emulated over NFS needs a writable fd), created if
// missing, close-on-exec (Go sets it anyway; it is spelled out because
// inheritance would let a lock outlive its owner).
func openLockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o644)
}

// tryFlock is one flock(LOCK_NB) call, retried on EINTR.
func tryFlock(f *os.File, exclusive bool) (bool, error) {
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	err := flockFd(f, how|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// lockFlock is one blocking flock(2) call, retried on EINTR: it returns
// when the lock is granted.
func lockFlock(f *os.File, exclusive bool) error {
	if exclusive {
		return flockFd(f, unix.LOCK_EX)
	}
	return flockFd(f, unix.LOCK_SH)
}

// unlockFlock drops whatever flock the file description holds.
func unlockFlock(f *os.File) error {
	return flockFd(f, unix.LOCK_UN)
}

// flockFd calls flock(2) on f's descriptor, looping on EINTR.
func flockFd(f *os.File, how int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	err = rc.Control(func(fd uintptr) {
		for {
			opErr = unix.Flock(int(fd), how)
			if opErr != unix.EINTR {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	if opErr != nil {
		return &os.SyscallError{Syscall: "flock", Err: opErr}
	}
	return nil
}
