package dispatch

import (
	"context"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// failure is one non-success outcome for recordTaskFailure.
type failure struct {
	outcome string // spawn_failed, timed_out, crashed
	err     string
	// limit is the breaker threshold when the task sets no max_retries
	// (<= 0: store.DefaultFailureLimit).
	limit int64
	// forceTrip trips the breaker whatever the count (the caller applied
	// its own bounded-retry policy).
	forceTrip bool
	// releaseClaim and endRun are the spawn path: the task is still
	// running with an open run. Both false: the caller already restored
	// the lane and closed the run; only the counter moves.
	releaseClaim, endRun bool
	// extra is merged into the gave_up payload.
	extra py.Object
}

// recordTaskFailure is upstream's _record_task_failure: count the failure
// and trip the circuit breaker (status blocked, gave_up event) once the
// effective limit (per-task max_retries, else f.limit) is reached. It
// reports whether the task was auto-blocked.
func recordTaskFailure(ctx context.Context, st *store.Store, id string, f failure) (bool, error) {
	tripped := false
	err := st.WriteTx(ctx, "failure "+id, func(tx *store.Tx) error {
		var err error
		tripped, err = recordFailure(tx, id, f)
		return err
	})
	return tripped, err
}

func recordFailure(tx *store.Tx, id string, f failure) (bool, error) {
	if f.limit <= 0 {
		f.limit = store.DefaultFailureLimit
	}
	errText := py.Cut(f.err, 500)
	var failures int64
	var status string
	var maxRetries, runID *int64
	found := false
	err := sqlx.Query(tx.Conn(), "SELECT consecutive_failures, status, max_retries, current_run_id FROM tasks WHERE id = ?", []any{id}, func(r *sqlx.Row) error {
		failures, status, maxRetries, runID, found = r.Int("consecutive_failures"), r.Text("status"), r.NullInt("max_retries"), r.NullInt("current_run_id"), true
		return nil
	})
	if err != nil || !found {
		return false, err
	}
	retry := "ready"
	if f.releaseClaim {
		if retry, err = tx.RetryStatus(id, runID); err != nil {
			return false, err
		}
	} else if status == "review" {
		retry = "review"
	}
	failures++
	limit, source := f.limit, "dispatcher"
	if maxRetries != nil {
		limit, source = *maxRetries, "task"
	}
	if !f.forceTrip && failures < limit {
		return false, countFailure(tx, id, f, errText, failures, retry)
	}
	return true, tripBreaker(tx, id, f, errText, failures, limit, source, retry)
}

// countFailure is the below-limit branch: bump the counter and, on the
// spawn path, hand the task back to its lane with a spawn_failed event.
func countFailure(tx *store.Tx, id string, f failure, errText string, failures int64, retry string) error {
	q := "UPDATE tasks SET consecutive_failures = ?, last_failure_error = ? WHERE id = ?"
	args := []any{failures, errText, id}
	if f.releaseClaim {
		q = `UPDATE tasks SET status = ?, claim_lock = NULL, claim_expires = NULL, worker_pid = NULL,
			consecutive_failures = ?, last_failure_error = ? WHERE id = ? AND status = 'running'`
		args = []any{retry, failures, errText, id}
	}
	if _, err := sqlx.Exec(tx.Conn(), q, args...); err != nil || !f.endRun {
		return err
	}
	runID, err := tx.EndRun(id, f.outcome, f.outcome, nil, &errText, py.Obj("failures", failures, "retry_status", retry))
	if err != nil {
		return err
	}
	return tx.AppendEvent(id, f.outcome, py.Obj("error", errText, "failures", failures, "retry_status", retry), runID)
}

// tripBreaker parks the task in blocked with a gave_up event.
func tripBreaker(tx *store.Tx, id string, f failure, errText string, failures, limit int64, source, retry string) error {
	q := "UPDATE tasks SET status = 'blocked', "
	if f.releaseClaim {
		q += "claim_lock = NULL, claim_expires = NULL, worker_pid = NULL, "
	}
	q += "consecutive_failures = ?, last_failure_error = ? WHERE id = ? AND status IN ('running', 'ready', 'review')"
	if _, err := sqlx.Exec(tx.Conn(), q, failures, errText, id); err != nil {
		return err
	}
	payload := py.Obj("failures", failures, "effective_limit", limit, "limit_source", source, "error", errText,
		"trigger_outcome", f.outcome, "retry_status", retry)
	var runID *int64
	if f.endRun {
		meta := py.Obj("failures", failures, "trigger_outcome", f.outcome, "effective_limit", limit,
			"limit_source", source, "retry_status", retry)
		var err error
		if runID, err = tx.EndRun(id, "gave_up", "gave_up", nil, &errText, meta); err != nil {
			return err
		}
	}
	for _, m := range f.extra {
		payload = payload.Set(m.Key, m.Value)
	}
	return tx.AppendEvent(id, "gave_up", payload, runID)
}
