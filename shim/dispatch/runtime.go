package dispatch

import (
	"context"
	"fmt"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// staleHeartbeatGap is upstream's _STALE_HEARTBEAT_GAP_SECONDS.
const staleHeartbeatGap = 3600

// overrun is a running task past its max_runtime_seconds.
type overrun struct {
	id      string
	pid     int64
	lock    *string
	elapsed int64
	limit   int64
}

// enforceMaxRuntime is upstream's enforce_max_runtime: stop every
// host-local worker whose current attempt has run past the task's
// max_runtime_seconds, send the task back to its lane with a timed_out
// event and count a failure (which may trip the breaker). Unlike
// upstream, a worker that survives termination keeps its claim
// (reclaim_deferred), as on the other reclaim paths, so no duplicate
// spawns beside it. Workers are stopped concurrently.
func enforceMaxRuntime(ctx context.Context, st *store.Store, failureLimit int64) (timedOut, blocked []string, err error) {
	now := st.Now()
	var rows []overrun
	err = sqlx.Query(st.Conn(), `SELECT t.id AS id, t.worker_pid AS worker_pid, COALESCE(r.started_at, t.started_at) AS active_started_at,
		t.max_runtime_seconds AS max_runtime_seconds, t.claim_lock AS claim_lock
		FROM tasks t LEFT JOIN task_runs r ON r.id = t.current_run_id
		WHERE t.status = 'running' AND t.max_runtime_seconds IS NOT NULL AND COALESCE(r.started_at, t.started_at) IS NOT NULL
		AND t.worker_pid IS NOT NULL`, nil, func(r *sqlx.Row) error {
		o := overrun{id: r.Text("id"), pid: r.Int("worker_pid"), lock: r.NullText("claim_lock"),
			elapsed: now - r.Int("active_started_at"), limit: r.Int("max_runtime_seconds")}
		if store.HostLocal(o.lock) && o.elapsed >= o.limit {
			rows = append(rows, o)
		}
		return nil
	})
	if err != nil {
		return nil, nil, st.Corrupt(err)
	}
	pids := make([]*int64, len(rows))
	locks := make([]*string, len(rows))
	for i := range rows {
		pids[i], locks[i] = &rows[i].pid, rows[i].lock
	}
	terms := terminateAll(ctx, st, pids, locks)
	done, tripped := make([]bool, len(rows)), make([]bool, len(rows))
	err = writeBatches(ctx, st, "time out overruns", len(rows), func(tx *store.Tx, i int) error {
		var err error
		done[i], tripped[i], err = settleOverrun(tx, rows[i], terms[i], failureLimit)
		return err
	}, func(lo, hi int) {
		id := func(i int) string { return rows[i].id }
		timedOut, blocked = appendDone(timedOut, done, lo, hi, id), appendDone(blocked, tripped, lo, hi, id)
	})
	return timedOut, blocked, err
}

// settleOverrun records one timed-out attempt after its worker was
// stopped and counts the failure, in the same transaction.
func settleOverrun(tx *store.Tx, o overrun, term store.Termination, failureLimit int64) (done, tripped bool, err error) {
	if term.Survived() {
		return false, false, tx.DeferReclaim(o.id, o.lock, term, "max_runtime_worker_alive")
	}
	errText := fmt.Sprintf("elapsed %ds > limit %ds", o.elapsed, o.limit)
	term = withSupervisorKill(tx, o.id, term)
	retry, err := tx.RetryStatus(o.id, nil)
	if err != nil {
		return false, false, err
	}
	n, err := sqlx.Exec(tx.Conn(), `UPDATE tasks SET status = ?, claim_lock = NULL, claim_expires = NULL, worker_pid = NULL,
		last_heartbeat_at = NULL WHERE id = ? AND status = 'running' AND worker_pid = ? AND claim_lock IS ?`, retry, o.id, o.pid, o.lock)
	if err != nil || n != 1 {
		return false, false, err
	}
	payload := py.Obj("pid", o.pid, "elapsed_seconds", o.elapsed, "limit_seconds", o.limit, "sigkill", term.SIGKILL, "retry_status", retry)
	runID, err := tx.EndRun(o.id, "timed_out", "timed_out", nil, &errText, payload)
	if err != nil {
		return false, false, err
	}
	if err := tx.AppendEvent(o.id, "timed_out", payload, runID); err != nil {
		return false, false, err
	}
	tripped, err = recordFailure(tx, o.id, failure{outcome: "timed_out", err: errText, limit: failureLimit,
		extra: py.Obj("pid", o.pid, "sigkill", term.SIGKILL, "retry_status", retry)})
	return true, tripped, err
}

// staleRun is a running task with no heartbeat progress.
type staleRun struct {
	id               string
	pid              *int64
	lock             *string
	lastHB, hbAge    *int64
	elapsed, timeout int64
}

// detectStaleRunning is upstream's detect_stale_running (off unless
// timeout > 0): a task running longer than timeout whose last heartbeat is
// missing or over an hour old is reclaimed as stale (its worker stopped
// first, deferred if it survives); no failure is counted.
func detectStaleRunning(ctx context.Context, st *store.Store, timeout int64) ([]string, error) {
	if timeout <= 0 {
		return nil, nil
	}
	now := st.Now()
	var rows []staleRun
	err := sqlx.Query(st.Conn(), `SELECT t.id AS id, t.worker_pid AS worker_pid, t.last_heartbeat_at AS last_heartbeat_at,
		t.claim_lock AS claim_lock, COALESCE(r.started_at, t.started_at) AS active_started_at
		FROM tasks t LEFT JOIN task_runs r ON r.id = t.current_run_id WHERE t.status = 'running'`, nil, func(r *sqlx.Row) error {
		started := r.NullInt("active_started_at")
		if started == nil || now-*started < timeout {
			return nil
		}
		row := staleRun{id: r.Text("id"), pid: r.NullInt("worker_pid"), lock: r.NullText("claim_lock"),
			lastHB: r.NullInt("last_heartbeat_at"), elapsed: now - *started, timeout: timeout}
		if row.lastHB != nil {
			age := now - *row.lastHB
			if age < staleHeartbeatGap {
				return nil
			}
			row.hbAge = &age
		}
		rows = append(rows, row)
		return nil
	})
	if err != nil {
		return nil, st.Corrupt(err)
	}
	pids := make([]*int64, len(rows))
	locks := make([]*string, len(rows))
	for i := range rows {
		pids[i], locks[i] = rows[i].pid, rows[i].lock
	}
	terms := terminateAll(ctx, st, pids, locks)
	done := make([]bool, len(rows))
	var out []string
	err = writeBatches(ctx, st, "reclaim stale runs", len(rows), func(tx *store.Tx, i int) error {
		var err error
		done[i], err = settleStaleRun(tx, rows[i], terms[i])
		return err
	}, func(lo, hi int) { out = appendDone(out, done, lo, hi, func(i int) string { return rows[i].id }) })
	return out, err
}

func settleStaleRun(tx *store.Tx, row staleRun, term store.Termination) (bool, error) {
	if term.Survived() {
		return false, tx.DeferReclaim(row.id, row.lock, term, "heartbeat_stale_worker_alive")
	}
	retry, err := tx.RetryStatus(row.id, nil)
	if err != nil {
		return false, err
	}
	n, err := sqlx.Exec(tx.Conn(), `UPDATE tasks SET status = ?, claim_lock = NULL, claim_expires = NULL, worker_pid = NULL,
		last_heartbeat_at = NULL WHERE id = ? AND status = 'running' AND claim_lock IS ?`, retry, row.id, row.lock)
	if err != nil || n != 1 {
		return false, err
	}
	payload := py.Obj("elapsed_seconds", row.elapsed, "last_heartbeat_at", row.lastHB, "heartbeat_age_seconds", row.hbAge,
		"timeout_seconds", row.timeout, "pid", row.pid, "retry_status", retry)
	for _, m := range term.Object() {
		payload = payload.Set(m.Key, m.Value)
	}
	errText := "no heartbeat ever"
	if row.hbAge != nil {
		errText = fmt.Sprintf("no heartbeat for %ds ", *row.hbAge)
	}
	errText += fmt.Sprintf(" after %ds running", row.elapsed)
	runID, err := tx.EndRun(row.id, "stale", "stale", nil, &errText, payload)
	if err != nil {
		return false, err
	}
	return true, tx.AppendEvent(row.id, "stale", payload, runID)
}
