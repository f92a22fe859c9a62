package lockd

import (
	"context"
	"errors"
	"time"
)

// Maintenance is a board held for maintenance (a swap, or resolving an
// interrupted one): the write lease in maintenance mode, so writers wait
// and say why, and the open guard exclusively, so no kanbanshim process
// opens the board meanwhile.
type Maintenance struct {
	Lease *Lease
	Guard *OpenGuard // nil when GuardBusy
	// GuardBusy means another holder had the board open, so the guard
	// could not be taken exclusively; the caller decides whether that
	// matters (a swap refuses, a resolve goes ahead: the board is blocked).
	GuardBusy bool
}

// Maintain takes the board's write lease for tool (e.g. "kanban-recover")
// doing op, waiting at most timeout (<= 0: DefaultLeaseTimeout), then
// tries the open guard exclusively without waiting. The caller releases
// both with Release.
func Maintain(ctx context.Context, dbPath, tool, op string, timeout time.Duration) (*Maintenance, error) {
	if timeout <= 0 {
		timeout = DefaultLeaseTimeout
	}
	m := &Maintenance{Lease: NewLease(dbPath)}
	if err := m.Lease.AcquireMaintenance(ctx, tool, op, timeout); err != nil {
		return nil, err
	}
	g, err := TryExclusive(dbPath)
	if errors.Is(err, ErrBoardInUse) {
		m.GuardBusy = true
	} else if err != nil {
		return nil, errors.Join(err, m.Lease.Release())
	}
	m.Guard = g
	return m, nil
}

// Release drops the open guard, then the lease. It is idempotent.
func (m *Maintenance) Release() error {
	if m == nil {
		return nil
	}
	return errors.Join(m.Guard.Close(), m.Lease.Release())
}
