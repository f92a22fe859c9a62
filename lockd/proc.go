package lockd

import (
	"errors"
	"io/fs"
)

// Opener is a process that has one of the scanned files open. The swap
// refuses while any exist, and names them so the operator knows whom to
// stop (Python writers take none of our locks, so /proc is the only way
// to see them).
type Opener struct {
	PID     int
	Cmdline []string
	Files   []string // the scanned paths this process has open
	Self    bool     // the calling process; callers usually skip it
}

// FlockInfo is one granted flock(2) lock on a file, as the kernel lists it
// in /proc/locks. Waiters (blocked requests) are not included.
type FlockInfo struct {
	PID       int
	Exclusive bool
}

// LockState reports whether anyone holds a flock on path, and who,
// without touching the lock itself. A missing file is simply not held:
// lock files are never unlinked, so nobody can hold one that is gone.
func LockState(path string) (held bool, holders []FlockInfo, err error) {
	holders, err = FlockHolders(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil, nil
	}
	return len(holders) > 0, holders, err
}
