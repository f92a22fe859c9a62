//go:build !unix

package lockd

import "os"

// openLockFile opens the lock file so paths and permissions still get
// checked; locking itself is unsupported here.
func openLockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
}

// tryFlock reports ErrUnsupported: this platform has no flock(2).
func tryFlock(*os.File, bool) (bool, error) { return false, ErrUnsupported }

// lockFlock reports ErrUnsupported (tryFlock already has; never reached).
func lockFlock(*os.File, bool) error { return ErrUnsupported }

// unlockFlock is a no-op: without flock(2) no lock can be held, and
// Close must still be able to close the file.
func unlockFlock(*os.File) error { return nil }
