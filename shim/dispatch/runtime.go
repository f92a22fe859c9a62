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
	for i, o := range rows {
		done, tripped, err := settleOverrun(ctx, st, o, terms[i], failureLimit)
		if err != nil {
			return timedOut, blocked, err
		}
		if done {
			timedOut = append(timedOut, o.id)
		}
		if tripped {
			blocked = append(blocked, o.id)
		}
	}
	return timedOut, blocked, nil
}

// settleOverrun records one timed-out attempt after its worker was
// stopped, then counts the failure.
func settleOverrun(ctx context.Context, st *store.Store, o overrun, term store.Termination, failureLimit int64) (done, tripped bool, err error) {
	if term.Survived() {
		return false, false, st.DeferReclaim(ctx, o.id, o.lock, term, "max_runtime_worker_alive")
	}
	errText := fmt.Sprintf("elapsed %ds > limit %ds", o.elapsed, o.limit)
	var retry string
	err = st.WriteTx(ctx, "timed out "+o.id, func(tx *store.Tx) error {
		term = withSupervisorKill(tx, o.id, term)
		var err error
		if retry, err = tx.RetryStatus(o.id, nil); err != nil {
			return err
		}
		n, err := sqlx.Exec(tx.Conn(), `UPDATE tasks SET status = ?, claim_lock = NULL, claim_expires = NULL, worker_pid = NULL,
			last_heartbeat_at = NULL WHERE id = ? AND status = 'running' AND worker_pid = ? AND claim_lock IS ?`, retry, o.id, o.pid, o.lock)
		if err != nil || n != 1 {
			return err
		}
		payload := py.Obj("pid", o.pid, "elapsed_seconds", o.elapsed, "limit_seconds", o.limit, "sigkill", term.SIGKILL, "retry_status", retry)
		runID, err := tx.EndRun(o.id, "timed_out", "timed_out", nil, &errText, payload)
		if err != nil {
			return err
		}
		done = true
		return tx.AppendEvent(o.id, "timed_out", payload, runID)
	})
	if err != nil || !done {
		return done, false, err
	}
	tripped, err = recordTaskFailure(ctx, st, o.id, failure{outcome: "timed_out", err: errText, limit: failureLimit,
		extra: py.Obj("pid", o.pid, "sigkill", term.SIGKILL, "retry_status", retry)})
	return done, tripped, err
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
	var out []string
	for i, row := range rows {
		ok, err := settleStaleRun(ctx, st, row, terms[i])
		if err != nil {
			return out, err
		}
		if ok {
			out = append(out, row.id)
		}
	}
	return out, nil
}

func settleStaleRun(ctx context.Context, st *store.Store, row staleRun, term store.Termination) (bool, error) {
	if term.Survived() {
		return false, st.DeferReclaim(ctx, row.id, row.lock, term, "heartbeat_stale_worker_alive")
	}
	ok := false
	err := st.WriteTx(ctx, "stale "+row.id, func(tx *store.Tx) error {
		retry, err := tx.RetryStatus(row.id, nil)
		if err != nil {
			return err
		}
		n, err := sqlx.Exec(tx.Conn(), `UPDATE tasks SET status = ?, claim_lock = NULL, claim_expires = NULL, worker_pid = NULL,
			last_heartbeat_at = NULL WHERE id = ? AND status = 'running' AND claim_lock IS ?`, retry, row.id, row.lock)
		if err != nil || n != 1 {
			return err
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
			return err
		}
		ok = true
		return tx.AppendEvent(row.id, "stale", payload, runID)
	})
	return ok, err
}
