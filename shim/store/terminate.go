package store

import (
	"context"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/proc"
	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// DefaultReclaimGrace is kanbanshim's SIGTERM -> SIGKILL window when a
// reclaim stops a worker (HERMES_KANBAN_RECLAIM_GRACE_SECONDS /
// kanban.reclaim_grace_seconds override it). Upstream hard-codes 5 s,
// which kills workers in the middle of their last write (upstream #69235).
const DefaultReclaimGrace = 30 * time.Second

// Termination reports what happened to a worker we were asked to stop;
// its fields become the payload keys upstream records.
type Termination struct {
	PrevPID   *int64
	HostLocal bool
	Attempted bool
	Done      bool // the worker is gone
	SIGKILL   bool
}

// Object is the termination dict upstream merges into reclaim events.
func (t Termination) Object() py.Object {
	return py.Obj("prev_pid", t.PrevPID, "host_local", t.HostLocal, "termination_attempted", t.Attempted,
		"terminated", t.Done, "sigkill", t.SIGKILL)
}

// Survived reports a host-local worker that outlived the attempt: its
// claim must be kept (else a duplicate spawns beside it).
func (t Termination) Survived() bool { return t.Attempted && t.HostLocal && !t.Done }

// TerminateClaim stops the worker behind a claim with stop; as upstream,
// nothing is attempted unless the pid is known and the claim was issued
// on this host (another host's pid is not ours to signal). The payload
// follows upstream's order of checks too: with no pid (or no claim lock)
// it returns before the lock is looked at, so host_local stays false,
// and a pid of 0 is recorded as no pid.
func TerminateClaim(ctx context.Context, stop func(context.Context, int) proc.Stopped, pid *int64, claimLock *string) Termination {
	var term Termination
	if pid != nil && *pid != 0 {
		term.PrevPID = pid
	}
	if pid == nil || *pid <= 0 || claimLock == nil || *claimLock == "" {
		return term
	}
	if term.HostLocal = HostLocal(claimLock); !term.HostLocal {
		return term
	}
	term.Attempted = true
	st := stop(ctx, int(*pid))
	term.Done, term.SIGKILL = st.Done, st.SIGKILL
	return term
}

// Terminate is TerminateClaim with the board's Options.Terminate.
func (s *Store) Terminate(ctx context.Context, pid *int64, claimLock *string) Termination {
	stop := s.opts.Terminate
	if stop == nil {
		stop = proc.Terminator{Grace: DefaultReclaimGrace}.Stop
	}
	return TerminateClaim(ctx, stop, pid, claimLock)
}

// ReclaimDeferGrace is upstream's RECLAIM_DEFER_GRACE_SECONDS: how long a
// claim whose worker survived termination is held before the next try.
const ReclaimDeferGrace = 120

// DeferReclaim is upstream's _defer_reclaim_for_live_worker: keep the
// claim of a worker that outlived termination (no duplicate spawns beside
// it) for ReclaimDeferGrace and say so; the next tick tries again.
func (s *Store) DeferReclaim(ctx context.Context, id string, lock *string, term Termination, reason string) error {
	return s.Write(ctx, "defer reclaim "+id, func() error { return s.deferReclaim(id, lock, term, reason) })
}

// DeferReclaim is Store.DeferReclaim inside the caller's transaction.
func (tx *Tx) DeferReclaim(id string, lock *string, term Termination, reason string) error {
	return tx.s.deferReclaim(id, lock, term, reason)
}

func (s *Store) deferReclaim(id string, lock *string, term Termination, reason string) error {
	grace := s.now() + ReclaimDeferGrace
	n, err := sqlx.Exec(s.conn, "UPDATE tasks SET claim_expires = ? WHERE id = ? AND status = 'running' AND claim_lock IS ?", grace, id, lock)
	if err != nil || n != 1 {
		return err
	}
	runID, err := s.currentRunID(id)
	if err != nil {
		return err
	}
	if runID != nil {
		if _, err := sqlx.Exec(s.conn, "UPDATE task_runs SET claim_expires = ? WHERE id = ?", grace, *runID); err != nil {
			return err
		}
	}
	payload := py.Obj("reason", reason, "claim_lock", lock, "claim_expires_now", grace)
	for _, m := range term.Object() {
		payload = payload.Set(m.Key, m.Value)
	}
	return s.appendEvent(id, "reclaim_deferred", payload, runID)
}
