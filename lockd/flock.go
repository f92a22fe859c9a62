package lockd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// FileLock is one open file description on a lock file. flock(2) locks
// belong to the open file description, so two FileLocks on the same path
// exclude each other even inside one process.
//
// A FileLock is not safe for concurrent use; wrap it (as Lease does) when
// several goroutines share it.
type FileLock struct {
	path string
	f    *os.File
}

// OpenLockFile opens path read-write, creating it with mode 0644 if
// missing. The descriptor is close-on-exec so a child process can never
// keep a lock alive after its parent dies. The file is never unlinked by
// this package: a new inode at the same path would be a second lock.
func OpenLockFile(path string) (*FileLock, error) {
	f, err := openLockFile(path)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	return &FileLock{path: path, f: f}, nil
}

// Path returns the path the lock file was opened with.
func (l *FileLock) Path() string { return l.path }

// File returns the underlying file, for writing a holder record under the
// lock. It is nil after Close. Closing it drops the lock.
func (l *FileLock) File() *os.File { return l.f }

// TryLock makes one non-blocking attempt. It reports false with a nil
// error when another open file description holds a conflicting lock.
// Taking the other mode on an already locked FileLock converts the lock;
// the conversion is not atomic (flock(2) drops the old lock first).
func (l *FileLock) TryLock(exclusive bool) (bool, error) {
	if l.f == nil {
		return false, fmt.Errorf("lock %s: %w", l.path, os.ErrClosed)
	}
	ok, err := tryFlock(l.f, exclusive)
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", l.path, err)
	}
	return ok, nil
}

// Lock waits for the lock, at most timeout (<= 0: until ctx is done).
// An uncontended lock costs one non-blocking flock(2). A contended one
// waits inside the kernel, in a blocking flock(2) on a helper goroutine:
// the kernel wakes waiters the moment the holder releases (or dies) and
// roughly in arrival order, where polling would hand the lock over late
// and to whichever waiter happened to poll first, so long waiters would
// starve behind fresh ones.
//
// It returns an error wrapping ErrTimeout once timeout has passed, and
// one wrapping ctx.Err() and context.Cause(ctx) when ctx ends first, so a
// drain signal shows up as the reason. A blocking flock(2) cannot be
// withdrawn (Go restarts it after signals), so a Lock that gives up hands
// the descriptor to the waiting goroutine, which closes it as soon as the
// kernel answers (dropping the lock if it was granted). The FileLock is
// closed after a failed Lock; open a new one to try again.
func (l *FileLock) Lock(ctx context.Context, exclusive bool, timeout time.Duration) error {
	if ctx.Err() != nil {
		return l.ctxError(ctx)
	}
	ok, err := l.TryLock(exclusive)
	if err != nil || ok {
		return err
	}
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	got, quit := make(chan error), make(chan struct{})
	go waitFlock(l.f, exclusive, got, quit)
	select {
	case err := <-got:
		if err != nil {
			return fmt.Errorf("lock %s: %w", l.path, err)
		}
		return nil
	case <-ctx.Done():
		l.abandon(quit)
		return l.ctxError(ctx)
	case <-expired:
		l.abandon(quit)
		return fmt.Errorf("lock %s: %w after %v", l.path, ErrTimeout, timeout)
	}
}

// waitFlock blocks in flock(2) and reports the result on got, unless the
// waiter gave up (quit closed): then it closes f, which drops the lock if
// the kernel granted it after all.
func waitFlock(f *os.File, exclusive bool, got chan<- error, quit <-chan struct{}) {
	err := lockFlock(f, exclusive)
	select {
	case got <- err:
	case <-quit:
		_ = f.Close()
	}
}

// abandon gives the descriptor to the goroutine still blocked in flock.
func (l *FileLock) abandon(quit chan struct{}) {
	l.f = nil
	close(quit)
}

// ctxError wraps both ctx.Err() and its cause, so errors.Is works for
// context.Canceled as well as for the cause (e.g. a *SignalError).
func (l *FileLock) ctxError(ctx context.Context) error {
	err, cause := ctx.Err(), context.Cause(ctx)
	if cause == nil || errors.Is(cause, err) {
		return fmt.Errorf("lock %s: %w", l.path, err)
	}
	return fmt.Errorf("lock %s: %w: %w", l.path, err, cause)
}

// Unlock releases the lock but keeps the file open for a later Lock.
func (l *FileLock) Unlock() error {
	if l.f == nil {
		return fmt.Errorf("unlock %s: %w", l.path, os.ErrClosed)
	}
	if err := unlockFlock(l.f); err != nil {
		return fmt.Errorf("unlock %s: %w", l.path, err)
	}
	return nil
}

// Close releases the lock and closes the file. It is idempotent, so a
// deferred Close after an explicit one is harmless.
func (l *FileLock) Close() error {
	if l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	errUnlock := unlockFlock(f)
	if errUnlock != nil {
		errUnlock = fmt.Errorf("unlock %s: %w", l.path, errUnlock)
	}
	return errors.Join(errUnlock, f.Close())
}
