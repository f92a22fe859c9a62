package lockd

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kanbanshim/kanbanshim/board"
)

// Lease is the per-board write lease: an exclusive flock on <db>.lease
// held around every kanbanshim write transaction, and by kanban-recover
// and kanban-migrate for a whole swap (as a maintenance holder).
//
// A Lease stands for one holder. Acquire while the same Lease is held (or
// being acquired by another goroutine) fails with ErrReentrant rather than
// deadlocking; goroutines that write independently each use their own
// Lease, and those exclude each other like separate processes do.
// The lease file is opened on Acquire and closed on Release, so an idle
// Lease holds no descriptor.
type Lease struct {
	path string

	mu   sync.Mutex
	busy bool      // an Acquire is in flight or the lease is held
	fl   *FileLock // non-nil while held
}

// NewLease returns an unheld lease for the board at dbPath.
func NewLease(dbPath string) *Lease { return &Lease{path: board.LeasePath(dbPath)} }

// Path returns the lease file's path.
func (l *Lease) Path() string { return l.path }

// Acquire takes the lease for an ordinary write, waiting at most timeout
// (<= 0: until ctx is done; use LeaseTimeout for the configured value).
// Once the lock is held it records this process as the holder. When the
// wait runs out it returns a *BusyError naming the holder, which matches
// ErrLeaseBusy, or ErrMaintenance if a maintenance tool holds the board.
func (l *Lease) Acquire(ctx context.Context, op string, timeout time.Duration) error {
	return l.acquire(ctx, currentHolder(op), timeout)
}

// AcquireMaintenance takes the same lock for a maintenance tool (tool is
// e.g. "kanban-recover"), so waiting writers report that the board is
// under maintenance rather than merely busy.
func (l *Lease) AcquireMaintenance(ctx context.Context, tool, op string, timeout time.Duration) error {
	h := currentHolder(op)
	h.Maintenance, h.Tool = true, tool
	return l.acquire(ctx, h, timeout)
}

func (l *Lease) acquire(ctx context.Context, h Holder, timeout time.Duration) error {
	if !l.begin() {
		return fmt.Errorf("acquire %s: %w", l.path, ErrReentrant)
	}
	fl, err := l.lock(ctx, h, timeout)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.busy, l.fl = fl != nil, fl
	return err
}

// begin marks the lease busy, reporting false if it already was.
func (l *Lease) begin() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.busy {
		return false
	}
	l.busy = true
	return true
}

// lock opens the lease file, waits for the exclusive lock and writes h.
// It returns the held lock, or nil and an error.
func (l *Lease) lock(ctx context.Context, h Holder, timeout time.Duration) (*FileLock, error) {
	fl, err := OpenLockFile(l.path)
	if err != nil {
		return nil, fmt.Errorf("acquire write lease: %w", err)
	}
	start := time.Now()
	err = fl.Lock(ctx, true, timeout)
	if errors.Is(err, ErrTimeout) {
		busy := newBusyError(l.path, time.Since(start))
		if cerr := fl.Close(); cerr != nil {
			return nil, errors.Join(busy, cerr)
		}
		return nil, busy // unjoined, so callers may also type-assert
	}
	if err == nil {
		h.Since = time.Now().UTC()
		err = writeHolder(fl.File(), h)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("acquire write lease: %w", err), fl.Close())
	}
	return fl, nil
}

// Release drops the lease and closes the lease file. The holder record is
// left in place: it is meaningless once the flock is gone, and clearing it
// would cost a write on every transaction. Release is idempotent and a
// no-op on a lease that is not held.
func (l *Lease) Release() error {
	l.mu.Lock()
	fl := l.fl
	if fl != nil {
		l.fl, l.busy = nil, false
	}
	l.mu.Unlock()
	if fl == nil {
		return nil
	}
	if err := fl.Close(); err != nil {
		return fmt.Errorf("release write lease: %w", err)
	}
	return nil
}
