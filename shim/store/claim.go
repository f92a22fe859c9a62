package store

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// DefaultClaimTTL is upstream's claim window in seconds.
const DefaultClaimTTL = 15 * 60

// ClaimerID is this process's claim lock: "<hostname>:<pid>".
func ClaimerID() string { return HostName() + ":" + strconv.Itoa(os.Getpid()) }

// HostName is the host part of claim locks ("unknown" when unavailable).
func HostName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown"
	}
	return h
}

// HostLocal reports whether a claim lock was issued on this host.
func HostLocal(lock *string) bool {
	return lock != nil && strings.HasPrefix(*lock, HostName()+":")
}

// MaxClaimTTL caps a claim's lifetime (100 years): now+TTL must not
// overflow into an already-expired claim.
const MaxClaimTTL = 100 * 365 * 24 * 3600

// ClaimTTL resolves the claim TTL: explicit > HERMES_KANBAN_CLAIM_TTL_SECONDS
// (an integer >= 1) > 900.
func ClaimTTL(explicit *int64, getenv func(string) string) int64 {
	if explicit != nil {
		return min(max(1, *explicit), MaxClaimTTL)
	}
	if raw := strings.TrimSpace(getenv("HERMES_KANBAN_CLAIM_TTL_SECONDS")); raw != "" {
		if n, err := strconv.ParseInt(raw, 10, 64); err == nil && n >= 1 {
			return min(n, MaxClaimTTL)
		}
	}
	return DefaultClaimTTL
}

// ClaimResult is the outcome of ClaimTask.
type ClaimResult struct {
	Task  *Task // nil when the claim was not made
	RunID int64
}

// ClaimTask atomically moves a ready task to running with a new run, the
// way upstream's claim_task does: a task whose parents are not done is
// demoted to todo instead (claim_rejected), a leaked open run is closed
// first, and the compare-and-swap on status/claim_lock decides races.
func (s *Store) ClaimTask(ctx context.Context, id string, ttl int64, claimer string) (ClaimResult, error) {
	return s.claimFrom(ctx, id, "ready", ttl, claimer)
}

// ClaimReviewTask is ClaimTask for the review lane.
func (s *Store) ClaimReviewTask(ctx context.Context, id string, ttl int64, claimer string) (ClaimResult, error) {
	return s.claimFrom(ctx, id, "review", ttl, claimer)
}

func (s *Store) claimFrom(ctx context.Context, id, source string, ttl int64, claimer string) (ClaimResult, error) {
	var res ClaimResult
	if claimer == "" {
		claimer = ClaimerID()
	}
	err := s.Write(ctx, "claim "+id, func() error {
		now := s.now()
		expires := now + ttl
		ok, err := s.parentsSatisfied(id)
		if err != nil {
			return err
		}
		if !ok {
			return s.rejectClaim(id, source)
		}
		if source == "ready" {
			if err := s.reclaimDanglingRun(id, []string{"ready"}, "invariant recovery on re-claim"); err != nil {
				return err
			}
		}
		var extra py.Object
		if source == "review" {
			extra = py.Obj("source_status", "review")
		}
		runID, err := s.claimAndOpenRun(id, source, claimer, expires, now, extra)
		if err != nil || runID == 0 {
			return err
		}
		res.RunID = runID
		res.Task, err = s.GetTask(id)
		return err
	})
	return res, err
}

func (s *Store) rejectClaim(id, source string) error {
	if source == "review" {
		n, err := sqlx.Exec(s.conn, "UPDATE tasks SET status = 'todo' WHERE id = ? AND status = 'review' AND claim_lock IS NULL", id)
		if err != nil || n != 1 {
			return err
		}
		return s.appendEvent(id, "dependency_wait", py.Obj("reason", "parent_reopened", "source_status", "review"), nil)
	}
	if _, err := sqlx.Exec(s.conn, "UPDATE tasks SET status = 'todo' WHERE id = ? AND status = 'ready'", id); err != nil {
		return err
	}
	return s.appendEvent(id, "claim_rejected", py.Obj("reason", "parents_not_done"), nil)
}

// claimAndOpenRun is the CAS source -> running, the run row and the
// claimed event; it returns 0 when the CAS lost.
func (s *Store) claimAndOpenRun(id, source, lock string, expires, now int64, extra py.Object) (int64, error) {
	n, err := sqlx.Exec(s.conn, `UPDATE tasks SET status = 'running', claim_lock = ?, claim_expires = ?, started_at = COALESCE(started_at, ?)
		WHERE id = ? AND status = ? AND claim_lock IS NULL`, lock, expires, now, id, source)
	if err != nil || n != 1 {
		return 0, err
	}
	var assignee, stepKey *string
	var maxRuntime *int64
	err = sqlx.Query(s.conn, "SELECT assignee, max_runtime_seconds, current_step_key FROM tasks WHERE id = ?", []any{id}, func(r *sqlx.Row) error {
		assignee, maxRuntime, stepKey = r.NullText("assignee"), r.NullInt("max_runtime_seconds"), r.NullText("current_step_key")
		return nil
	})
	if err != nil {
		return 0, err
	}
	runID, err := sqlx.Insert(s.conn, `INSERT INTO task_runs (task_id, profile, step_key, status, claim_lock, claim_expires, max_runtime_seconds, started_at)
		VALUES (?, ?, ?, 'running', ?, ?, ?, ?)`, id, assignee, stepKey, lock, expires, maxRuntime, now)
	if err != nil {
		return 0, err
	}
	if _, err := sqlx.Exec(s.conn, "UPDATE tasks SET current_run_id = ? WHERE id = ?", runID, id); err != nil {
		return 0, err
	}
	payload := py.Obj("lock", lock, "expires", expires, "run_id", runID)
	payload = append(payload, extra...)
	return runID, s.appendEvent(id, "claimed", payload, &runID)
}

// SetWorkspacePath records the resolved workspace of a task.
func (s *Store) SetWorkspacePath(ctx context.Context, id, path string) error {
	return s.Write(ctx, "set workspace "+id, func() error {
		_, err := sqlx.Exec(s.conn, "UPDATE tasks SET workspace_path = ? WHERE id = ?", path, id)
		return err
	})
}

// HeartbeatWorker records worker liveness: last_heartbeat_at on the task
// and its run, and a heartbeat event (with the note, if any). False when
// the task is not running (or another run owns it).
func (s *Store) HeartbeatWorker(ctx context.Context, id string, note *string, expectedRun *int64) (bool, error) {
	ok := false
	err := s.Write(ctx, "heartbeat "+id, func() error {
		now := s.now()
		q := "UPDATE tasks SET last_heartbeat_at = ? WHERE id = ? AND status = 'running'"
		args := []any{now, id}
		if expectedRun != nil {
			q += " AND current_run_id = ?"
			args = append(args, *expectedRun)
		}
		n, err := sqlx.Exec(s.conn, q, args...)
		if err != nil || n != 1 {
			return err
		}
		runID, err := s.currentRunID(id)
		if err != nil {
			return err
		}
		if runID != nil {
			if _, err := sqlx.Exec(s.conn, "UPDATE task_runs SET last_heartbeat_at = ? WHERE id = ?", now, *runID); err != nil {
				return err
			}
		}
		var payload py.Object
		if note != nil && *note != "" {
			payload = py.Obj("note", *note)
		}
		ok = true
		return s.appendEvent(id, "heartbeat", payload, runID)
	})
	return ok, err
}

// HeartbeatClaim extends a running claim we own (task and run); false when
// the claim is no longer ours.
func (s *Store) HeartbeatClaim(ctx context.Context, id string, ttl int64, claimer string) (bool, error) {
	if claimer == "" {
		claimer = ClaimerID()
	}
	ok := false
	err := s.Write(ctx, "heartbeat-claim "+id, func() error {
		expires := s.now() + ttl
		n, err := sqlx.Exec(s.conn, "UPDATE tasks SET claim_expires = ? WHERE id = ? AND status = 'running' AND claim_lock = ?", expires, id, claimer)
		if err != nil || n != 1 {
			return err
		}
		ok = true
		return s.extendRunClaim(id, expires)
	})
	return ok, err
}

func (s *Store) extendRunClaim(id string, expires int64) error {
	runID, err := s.currentRunID(id)
	if err != nil || runID == nil {
		return err
	}
	_, err = sqlx.Exec(s.conn, "UPDATE task_runs SET claim_expires = ? WHERE id = ?", expires, *runID)
	return err
}

// ClaimError explains a refused claim the way upstream's CLI does.
type ClaimError struct {
	ID, Status string
	Lock       *string
}

func (e *ClaimError) Error() string {
	lock := "(none)"
	if e.Lock != nil && *e.Lock != "" {
		lock = *e.Lock
	}
	return fmt.Sprintf("cannot claim %s: status=%s lock=%s", e.ID, e.Status, lock)
}
