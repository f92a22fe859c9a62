package lockd

import (
	"errors"
	"io/fs"

	"github.com/kanbanshim/kanbanshim/internal/proc"
)

// LockState reports whether anyone holds a flock on path, and who,
// without touching the lock itself (from /proc/locks, through
// internal/proc). A missing file is simply not held: lock files are never
// unlinked, so nobody can hold one that is gone.
func LockState(path string) (held bool, holders []proc.FlockInfo, err error) {
	holders, err = proc.FlockHolders(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil, nil
	}
	return len(holders) > 0, holders, err
}
