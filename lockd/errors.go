package lockd

import (
	"errors"
	"github.com/kanbanshim/kanbanshim/internal/proc"
)

// Sentinel errors. Callers match them with errors.Is; the typed errors in
// this package (BusyError, SignalError) unwrap to them where relevant.
var (
	// ErrTimeout reports that a bounded wait for a lock ran out.
	ErrTimeout = errors.New("lockd: timed out waiting for lock")

	// ErrLeaseBusy reports that another process kept the write lease for
	// the whole wait.
	ErrLeaseBusy = errors.New("lockd: board write lease busy")

	// ErrMaintenance reports that the write lease is held by a maintenance
	// tool (kanban-recover, kanban-migrate) rather than an ordinary writer.
	ErrMaintenance = errors.New("lockd: board under maintenance")

	// ErrBoardInUse reports that other kanbanshim processes have the board
	// open, so an exclusive operation such as a swap must not proceed.
	ErrBoardInUse = errors.New("lockd: board in use by other processes")

	// ErrUnsupported reports that the platform lacks flock(2) or /proc.
	// It is proc.ErrUnsupported, so one errors.Is check covers the lock
	// calls and the /proc scans they use.
	ErrUnsupported = proc.ErrUnsupported

	// ErrReentrant reports an Acquire on a Lease that is already held.
	// flock is per open file description, so a nested Acquire through a
	// second descriptor would deadlock against itself; refusing is safer.
	ErrReentrant = errors.New("lockd: lease already held by this Lease")
)
