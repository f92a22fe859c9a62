package board

import (
	"os"

	"golang.org/x/sys/unix"
)

// Open file description locks, as our SQLite (ncruces) takes them; they
// conflict with the POSIX record locks Python's SQLite takes.
const (
	cmdGetLock = unix.F_OFD_GETLK
	cmdSetLock = unix.F_OFD_SETLK
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
