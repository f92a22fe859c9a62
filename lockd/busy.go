package lockd

import (
	"fmt"
	"slices"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/proc"
)

// BusyError is returned by Lease.Acquire when the wait runs out. It names
// the holder so the user can decide whether to wait, kill it or call an
// operator, instead of seeing a bare timeout.
type BusyError struct {
	// Holder describes the process holding the lease. When HolderKnown
	// is false it may still carry a PID (and Argv) learned from
	// /proc/locks; a zero PID means nothing is known.
	Holder Holder
	// Waited is how long Acquire waited before giving up.
	Waited time.Duration
	// Held is how long the holder has held the lease: now minus
	// Holder.Since, when the record is trusted. Zero when unknown; the
	// message then falls back to Waited, a lower bound (the lease was
	// held, possibly by several holders in turn, for the whole wait).
	Held time.Duration
	// HolderKnown reports whether Holder came from a valid lease record
	// that matches the kernel's view of the lock.
	HolderKnown bool
}

// Error gives one of three one-line messages: a maintenance holder, a
// named holder, or "another process" when nothing could be learned. The
// duration is the holder's (Held), which is what tells a user whether the
// holder is wedged; our own wait is only used when that is unknown.
func (e *BusyError) Error() string {
	secs := int64(e.heldFor().Round(time.Second) / time.Second)
	h := e.Holder
	if e.maintenance() {
		tool := h.Tool
		if tool == "" {
			tool = "a maintenance tool"
		}
		return fmt.Sprintf("board under maintenance by %s (pid %d) since %s",
			tool, h.PID, h.Since.UTC().Format(time.RFC3339))
	}
	if h.PID <= 0 {
		return fmt.Sprintf("board write lease busy: held by another process for %ds", secs)
	}
	if cmd := h.Command(); cmd != "" {
		return fmt.Sprintf("board write lease busy: held by pid %d (%s) for %ds", h.PID, cmd, secs)
	}
	return fmt.Sprintf("board write lease busy: held by pid %d for %ds", h.PID, secs)
}

// Unwrap returns ErrMaintenance for a maintenance holder, else
// ErrLeaseBusy, so callers can pick the exit code with errors.Is.
func (e *BusyError) Unwrap() error {
	if e.maintenance() {
		return ErrMaintenance
	}
	return ErrLeaseBusy
}

func (e *BusyError) maintenance() bool { return e.HolderKnown && e.Holder.Maintenance }

// heldFor is Held when known, else Waited.
func (e *BusyError) heldFor() time.Duration {
	if e.Held > 0 {
		return e.Held
	}
	return e.Waited
}

// heldSince is how long ago a trusted record says the lease was taken;
// zero for an untrusted or undated record, or a clock that went back.
func heldSince(h Holder, known bool, now time.Time) time.Duration {
	if !known || h.Since.IsZero() {
		return 0
	}
	return max(now.Sub(h.Since), 0)
}

// newBusyError describes who holds path. The record in the file is
// trusted only if the kernel agrees: when /proc/locks lists exclusive
// holders and the record's pid is not among them, the record is stale
// (left by an earlier holder) and the pid from /proc/locks is reported
// instead, with its command line from /proc (and Held left unknown).
// Without /proc the record is taken at its word.
func newBusyError(path string, waited time.Duration) *BusyError {
	rec, known, _ := readHolderFile(path)
	e := &BusyError{Holder: rec, Waited: waited, HolderKnown: known, Held: heldSince(rec, known, time.Now())}
	holders, err := proc.FlockHolders(path)
	if err != nil {
		return e
	}
	var pids []int
	for _, h := range holders {
		if h.Exclusive && h.PID > 0 {
			pids = append(pids, h.PID)
		}
	}
	if len(pids) == 0 || (known && slices.Contains(pids, rec.PID)) {
		return e
	}
	e.Holder = Holder{PID: pids[0], Argv: proc.Cmdline(pids[0])}
	e.HolderKnown, e.Held = false, 0
	return e
}
