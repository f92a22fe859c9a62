package lockd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// Backoff bounds for Lock's polling. flock(2) has no timed wait, so a
// bounded wait polls the non-blocking form: fast at first, so an
// uncontended hand-over costs about a millisecond, then capped so that a
// long wait costs at most ~20 syscalls a second.
const (
	minBackoff = time.Millisecond
	maxBackoff = 50 * time.Millisecond
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

// Lock waits for the lock, polling TryLock with a backoff from 1 ms up to
// 50 ms. It returns an error wrapping ErrTimeout once timeout has passed
// (timeout <= 0 waits until ctx is done) and an error wrapping ctx.Err()
// and context.Cause(ctx) when ctx ends first, so a drain signal shows up
// as the reason.
func (l *FileLock) Lock(ctx context.Context, exclusive bool, timeout time.Duration) error {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	delay := minBackoff
	for {
		if err := ctx.Err(); err != nil {
			return l.ctxError(ctx)
		}
		ok, err := l.TryLock(exclusive)
		if err != nil || ok {
			return err
		}
		wait := delay
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return fmt.Errorf("lock %s: %w after %v", l.path, ErrTimeout, timeout)
			}
			wait = min(wait, left)
		}
		if err := sleepCtx(ctx, wait); err != nil {
			return l.ctxError(ctx)
		}
		delay = min(2*delay, maxBackoff)
	}
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

// sleepCtx sleeps for d or until ctx is done, whichever is first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
