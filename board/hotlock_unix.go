//go:build unix && !linux

package board

import (
	"os"

	"golang.org/x/sys/unix"
)

// POSIX record locks where open file description locks are not available.
// They are dropped when any descriptor of the file in this process
// closes; the callers hold no other descriptor of the board meanwhile.
const (
	cmdGetLock = unix.F_GETLK
	cmdSetLock = unix.F_SETLK
)

func lockCmd(f *os.File, cmd int, typ int16, start, n int64) (unix.Flock_t, error) {
	lk := unix.Flock_t{Type: typ, Whence: 0, Start: start, Len: n}
	for {
		err := unix.FcntlFlock(f.Fd(), cmd, &lk)
		if err != unix.EINTR {
			return lk, err
		}
	}
}
