//go:build !unix

package board

import (
	"errors"
	"os"
)

var errNoLocks = errors.New("SQLite's byte-range locks are not available on this system")

func lockHeld(*os.File, int64, int64) (bool, error)      { return false, errNoLocks }
func lockHeldWrite(*os.File, int64, int64) (bool, error) { return false, errNoLocks }
func readLock(*os.File, int64, int64) (bool, error)      { return false, errNoLocks }
func unlockRange(*os.File, int64, int64) error           { return errNoLocks }
