package lockd

import (
	"context"
	"fmt"
	"time"

	"github.com/kanbanshim/kanbanshim/board"
)

// DefaultInitTimeout matches upstream's schema-init wait (50 ms polls for
// up to 10 s), used when LockInit gets no timeout.
const DefaultInitTimeout = 10 * time.Second

// LockInit takes the init lock exclusively, waiting at most timeout
// (<= 0 means DefaultInitTimeout: the wait is always bounded, as
// upstream's is). The caller closes the returned lock when done.
func LockInit(ctx context.Context, dbPath string, timeout time.Duration) (*FileLock, error) {
	if timeout <= 0 {
		timeout = DefaultInitTimeout
	}
	fl, err := OpenLockFile(board.InitLockPath(dbPath))
	if err != nil {
		return nil, fmt.Errorf("init lock: %w", err)
	}
	if err := fl.Lock(ctx, true, timeout); err != nil {
		return nil, closeAfter(fmt.Errorf("init lock: %w", err), fl)
	}
	return fl, nil
}

// TryLockDispatch makes the single non-blocking attempt upstream makes
// per tick. ok is false (and the lock nil) when another dispatcher is
// ticking; the caller then skips this tick.
func TryLockDispatch(dbPath string) (fl *FileLock, ok bool, err error) {
	fl, err = OpenLockFile(board.DispatchLockPath(dbPath))
	if err != nil {
		return nil, false, fmt.Errorf("dispatch lock: %w", err)
	}
	ok, err = fl.TryLock(true)
	if err != nil {
		return nil, false, closeAfter(fmt.Errorf("dispatch lock: %w", err), fl)
	}
	if !ok {
		return nil, false, closeAfter(nil, fl)
	}
	return fl, true, nil
}
