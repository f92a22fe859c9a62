package lockd

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/proc"
)

// holdOpenTimeout bounds HoldOpen's wait. Only a swap holds the open
// guard exclusively, and only for the moment of the rename.
const holdOpenTimeout = 30 * time.Second

// OpenGuard is a lock on <db>.open: shared while a kanbanshim process has
// the board open, exclusive while a swap replaces the file, so a swap
// never pulls the database out from under one of our connections.
type OpenGuard struct {
	fl *FileLock
}

// HoldOpen takes the open guard shared and keeps it until Close. It
// waits (up to 30 s, or until ctx is done: a drain signal stops the wait)
// only if a swap holds the guard exclusively.
func HoldOpen(ctx context.Context, dbPath string) (*OpenGuard, error) {
	fl, err := OpenLockFile(board.OpenPath(dbPath))
	if err != nil {
		return nil, fmt.Errorf("hold board open: %w", err)
	}
	if err := fl.Lock(ctx, false, holdOpenTimeout); err != nil {
		return nil, closeAfter(fmt.Errorf("hold board open: %w", err), fl)
	}
	return &OpenGuard{fl: fl}, nil
}

// TryExclusive takes the open guard exclusively without waiting. It fails
// with an error wrapping ErrBoardInUse while any other holder (another
// process, or another OpenGuard in this one) has the board open; the
// message names the pids when /proc/locks shows them.
func TryExclusive(dbPath string) (*OpenGuard, error) {
	path := board.OpenPath(dbPath)
	fl, err := OpenLockFile(path)
	if err != nil {
		return nil, fmt.Errorf("lock board for swap: %w", err)
	}
	ok, err := fl.TryLock(true)
	if err != nil {
		return nil, closeAfter(fmt.Errorf("lock board for swap: %w", err), fl)
	}
	if !ok {
		return nil, closeAfter(fmt.Errorf("%w: %s%s", ErrBoardInUse, path, pidList(path)), fl)
	}
	return &OpenGuard{fl: fl}, nil
}

// Close releases the guard. It is idempotent.
func (g *OpenGuard) Close() error {
	if g == nil || g.fl == nil {
		return nil
	}
	return g.fl.Close()
}

// pidList renders the lock holders of path as " (held by pid 1, 2)", or ""
// when they cannot be found.
func pidList(path string) string {
	holders, err := proc.FlockHolders(path)
	if err != nil || len(holders) == 0 {
		return ""
	}
	pids := make([]string, len(holders))
	for i, h := range holders {
		pids[i] = strconv.Itoa(h.PID)
	}
	return " (held by pid " + strings.Join(pids, ", ") + ")"
}

// closeAfter closes fl after a failure (or a lost race) and returns err,
// combined with any close error so neither is lost.
func closeAfter(err error, fl *FileLock) error {
	cerr := fl.Close()
	switch {
	case cerr == nil:
		return err
	case err == nil:
		return cerr
	default:
		return fmt.Errorf("%w (close: %w)", err, cerr)
	}
}
