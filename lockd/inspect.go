package lockd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/proc"
)

// BoardLocks is a snapshot of every lock around one board, for
// `kanban locks`. It is read from the lock files, /proc/locks and
// /proc/*/fd without taking any lock, so it can be run while writers wait
// (and never delays them). Being a snapshot of moving state, it may be
// slightly inconsistent: a writer can finish between two reads.
type BoardLocks struct {
	DB    string
	Lease LeaseState
	// Open are the kanbanshim processes holding the open guard, i.e.
	// with a connection to the board open right now.
	Open []Process
	// Others have the db, -wal or -shm open without holding the open
	// guard: Python hermes processes, the sqlite3 CLI, backup tools.
	// Unreadable processes (other users, without root) are missing.
	Others []proc.Opener
	// Init and Dispatch are upstream's <db>.init.lock and
	// <db>.dispatch.lock, which Python and Go both take.
	Init, Dispatch NamedLock
}

// LeaseState describes the write lease.
type LeaseState struct {
	Path string
	Held bool
	// PIDs are the holders the kernel lists (one, for an exclusive lock).
	PIDs []int
	// Holder is the record in the lease file when it is trusted: the
	// lease is held and the record's pid is the kernel's holder. Nil when
	// free, torn, or stale (written by an earlier holder).
	Holder *Holder
	// HeldFor is now minus Holder.Since (zero without a trusted record).
	HeldFor time.Duration
}

// Maintenance reports whether a maintenance tool (kanban-recover,
// kanban-migrate) holds the lease.
func (s LeaseState) Maintenance() bool { return s.Holder != nil && s.Holder.Maintenance }

// NamedLock is the state of one upstream-shared lock file.
type NamedLock struct {
	Path string
	Held bool
	PIDs []int
}

// Process is a pid with its command line (nil when unreadable).
type Process struct {
	PID     int
	Cmdline []string
}

// Inspect takes the snapshot for the board at dbPath. Lock files that do
// not exist count as free: they are never unlinked, so nobody can hold
// one that is missing. It fails with ErrUnsupported without Linux /proc.
func Inspect(dbPath string, now time.Time) (BoardLocks, error) {
	b := BoardLocks{DB: dbPath}
	var err error
	if b.Lease, err = inspectLease(dbPath, now); err != nil {
		return b, err
	}
	openPIDs, err := holderPIDs(board.OpenPath(dbPath), false)
	if err != nil {
		return b, err
	}
	for _, pid := range openPIDs {
		b.Open = append(b.Open, Process{PID: pid, Cmdline: proc.Cmdline(pid)})
	}
	openers, err := proc.ScanOpeners(dbPath, board.WAL(dbPath), board.SHM(dbPath))
	if err != nil {
		return b, err
	}
	for _, o := range openers {
		if !o.Self && !slices.Contains(openPIDs, o.PID) {
			b.Others = append(b.Others, o)
		}
	}
	if b.Init, err = inspectNamed(board.InitLockPath(dbPath)); err != nil {
		return b, err
	}
	b.Dispatch, err = inspectNamed(board.DispatchLockPath(dbPath))
	return b, err
}

// inspectLease reads the lease's kernel state and, when held, its record.
func inspectLease(dbPath string, now time.Time) (LeaseState, error) {
	s := LeaseState{Path: board.LeasePath(dbPath)}
	pids, err := holderPIDs(s.Path, true)
	if err != nil || len(pids) == 0 {
		return s, err
	}
	s.Held, s.PIDs = true, pids
	h, ok, err := ReadHolder(dbPath)
	if err != nil {
		return s, err
	}
	if ok && slices.Contains(pids, h.PID) {
		s.Holder = &h
		s.HeldFor = heldSince(h, true, now)
	}
	return s, nil
}

func inspectNamed(path string) (NamedLock, error) {
	pids, err := holderPIDs(path, false)
	return NamedLock{Path: path, Held: len(pids) > 0, PIDs: pids}, err
}

// holderPIDs lists the distinct pids holding a flock on path (only
// exclusive holders when exclusive is set); a missing file has none.
func holderPIDs(path string, exclusive bool) ([]int, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	holders, err := proc.FlockHolders(path)
	if err != nil {
		return nil, fmt.Errorf("inspect locks: %w", err)
	}
	var pids []int
	for _, h := range holders {
		if (h.Exclusive || !exclusive) && h.PID > 0 && !slices.Contains(pids, h.PID) {
			pids = append(pids, h.PID)
		}
	}
	return pids, nil
}
