//go:build unix

package board

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// lockCmd runs one fcntl lock command (cmdGetLock or cmdSetLock) on the
// bytes [start, start+n) of f.
func lockCmd(f *os.File, cmd int, typ int16, start, n int64) (unix.Flock_t, error) {
	lk := unix.Flock_t{Type: typ, Whence: 0, Start: start, Len: n}
	for {
		err := unix.FcntlFlock(f.Fd(), cmd, &lk)
		if err != unix.EINTR {
			return lk, err
		}
	}
}

// lockHeld reports whether any process (this one through another open
// file) holds a lock on the bytes [start, start+n) of f.
func lockHeld(f *os.File, start, n int64) (bool, error) {
	lk, err := lockCmd(f, cmdGetLock, unix.F_WRLCK, start, n)
	return err == nil && lk.Type != unix.F_UNLCK, err
}

// lockHeldWrite reports whether a write lock is held on the bytes.
func lockHeldWrite(f *os.File, start, n int64) (bool, error) {
	lk, err := lockCmd(f, cmdGetLock, unix.F_RDLCK, start, n)
	return err == nil && lk.Type == unix.F_WRLCK, err
}

// readLock tries to take a read lock on the bytes; false when a write
// lock is in the way.
func readLock(f *os.File, start, n int64) (bool, error) {
	_, err := lockCmd(f, cmdSetLock, unix.F_RDLCK, start, n)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
		return false, nil
	}
	return err == nil, err
}

func unlockRange(f *os.File, start, n int64) error {
	_, err := lockCmd(f, cmdSetLock, unix.F_UNLCK, start, n)
	return err
}
