package board

import "golang.org/x/sys/unix"

// Open file description locks, as our SQLite (ncruces) takes them; they
// conflict with the POSIX record locks Python's SQLite takes.
const (
	cmdGetLock = unix.F_OFD_GETLK
	cmdSetLock = unix.F_OFD_SETLK
)
