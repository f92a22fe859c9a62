//go:build unix && !linux

package board

import "golang.org/x/sys/unix"

// POSIX record locks where open file description locks are not available.
// They are dropped when any descriptor of the file in this process
// closes; the callers hold no other descriptor of the board meanwhile.
const (
	cmdGetLock = unix.F_GETLK
	cmdSetLock = unix.F_SETLK
)
