package store

import (
	"context"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// ReclaimDeferGrace is upstream's RECLAIM_DEFER_GRACE_SECONDS: how long a
// claim whose worker survived termination is held before the next try.
const ReclaimDeferGrace = 120

// Failure is one non-success outcome for RecordTaskFailure.
type Failure struct {
	Outcome string // spawn_failed, timed_out, crashed
	Error   string
	// Limit is the breaker threshold when the task sets no max_retries
	// (<= 0: DefaultFailureLimit).
	Limit int64
	// ForceTrip trips the breaker whatever the count (the caller applied
	// its own bounded-retry policy).
	ForceTrip bool
	// ReleaseClaim and EndRun are the spawn path: the task is still
	// running with an open run. Both false: the caller already restored
	// the lane and closed the run; only the counter moves.
	ReleaseClaim, EndRun bool
	// Extra is merged into the gave_up payload.
	Extra py.Object
}

// RecordTaskFailure is upstream's _record_task_failure: count the failure
// and trip the circuit breaker (status blocked, gave_up event) once the
// effective limit (per-task max_retries, else Limit) is reached. It
// reports whether the task was auto-blocked.
func (s *Store) RecordTaskFailure(ctx context.Context, id string, f Failure) (bool, error) {
	tripped := false
	err := s.Write(ctx, "failure "+id, func() error {
		var err error
		tripped, err = s.recordFailure(id, f)
		return err
	})
	return tripped, err
}

func (s *Store) recordFailure(id string, f Failure) (bool, error) {
	if f.Limit <= 0 {
		f.Limit = DefaultFailureLimit
	}
	errText := dispTruncate(f.Error, 500)
	var failures int64
	var status string
	var maxRetries, runID *int64
	found := false
	err := sqlx.Query(s.conn, "SELECT consecutive_failures, status, max_retries, current_run_id FROM tasks WHERE id = ?", []any{id}, func(r *sqlx.Row) error {
		failures, status, maxRetries, runID, found = r.Int("consecutive_failures"), r.Text("status"), r.NullInt("max_retries"), r.NullInt("current_run_id"), true
		return nil
	})
	if err != nil || !found {
		return false, err
	}
	retry := "ready"
	if f.ReleaseClaim {
		if retry, err = s.retryStatusForRun(id, runID); err != nil {
			return false, err
		}
	} else if status == "review" {
		retry = "review"
	}
	failures++
	limit, source := f.Limit, "dispatcher"
	if maxRetries != nil {
		limit, source = *maxRetries, "task"
	}
	if !f.ForceTrip && failures < limit {
		return false, s.countFailure(id, f, errText, failures, retry)
	}
	return true, s.tripBreaker(id, f, errText, failures, limit, source, retry)
}

// countFailure is the below-limit branch: bump the counter and, on the
// spawn path, hand the task back to its lane with a spawn_failed event.
func (s *Store) countFailure(id string, f Failure, errText string, failures int64, retry string) error {
	q := "UPDATE tasks SET consecutive_failures = ?, last_failure_error = ? WHERE id = ?"
	args := []any{failures, errText, id}
	if f.ReleaseClaim {
		q = `UPDATE tasks SET status = ?, claim_lock = NULL, claim_expires = NULL, worker_pid = NULL,
			consecutive_failures = ?, last_failure_error = ? WHERE id = ? AND status = 'running'`
		args = []any{retry, failures, errText, id}
	}
	if _, err := sqlx.Exec(s.conn, q, args...); err != nil || !f.EndRun {
		return err
	}
	runID, err := s.endRun(id, f.Outcome, f.Outcome, nil, &errText, py.Obj("failures", failures, "retry_status", retry))
	if err != nil {
		return err
	}
	return s.appendEvent(id, f.Outcome, py.Obj("error", errText, "failures", failures, "retry_status", retry), runID)
}

// tripBreaker parks the task in blocked with a gave_up event.
func (s *Store) tripBreaker(id string, f Failure, errText string, failures, limit int64, source, retry string) error {
	q := "UPDATE tasks SET status = 'blocked', "
	if f.ReleaseClaim {
		q += "claim_lock = NULL, claim_expires = NULL, worker_pid = NULL, "
	}
	q += "consecutive_failures = ?, last_failure_error = ? WHERE id = ? AND status IN ('running', 'ready', 'review')"
	if _, err := sqlx.Exec(s.conn, q, failures, errText, id); err != nil {
		return err
	}
	payload := py.Obj("failures", failures, "effective_limit", limit, "limit_source", source, "error", errText,
		"trigger_outcome", f.Outcome, "retry_status", retry)
	var runID *int64
	if f.EndRun {
		meta := py.Obj("failures", failures, "trigger_outcome", f.Outcome, "effective_limit", limit,
			"limit_source", source, "retry_status", retry)
		var err error
		if runID, err = s.endRun(id, "gave_up", "gave_up", nil, &errText, meta); err != nil {
			return err
		}
	}
	for _, m := range f.Extra {
		payload = payload.Set(m.Key, m.Value)
	}
	return s.appendEvent(id, "gave_up", payload, runID)
}

// deferReclaim is upstream's _defer_reclaim_for_live_worker: keep the
// claim of a worker that outlived termination (no duplicate spawns beside
// it) for ReclaimDeferGrace and say so; the next tick tries again.
func (s *Store) deferReclaim(ctx context.Context, id string, lock *string, term Termination, reason string) error {
	return s.Write(ctx, "defer reclaim "+id, func() error {
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
	})
}

// dispTruncate is Python's text[:n].
func dispTruncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
