package dispatch

import (
	"context"
	"sync"

	"github.com/kanbanshim/kanbanshim/internal/proc"
	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// ClaimHeartbeatMaxStale is upstream's DEFAULT_CLAIM_HEARTBEAT_MAX_STALE_SECONDS:
// a live worker whose last heartbeat is older than this is wedged, and its
// expired claim is reclaimed anyway.
const ClaimHeartbeatMaxStale = 60 * 60

// staleClaim is one running task whose claim expired.
type staleClaim struct {
	id            string
	lock          *string
	workerPID     *int64
	claimExpires  int64
	lastHeartbeat *int64
	runID         *int64
}

// releaseStaleClaims is upstream's release_stale_claims: every running task
// whose claim expired is either extended (its host-local worker is alive
// and has heartbeat within the hour) or its worker is stopped and the task
// goes back to its lane, closing the run as reclaimed. A worker that
// outlives termination keeps its claim (reclaim_deferred). Workers are
// stopped concurrently, and the tasks settled in batches (writeBatches).
// It returns how many tasks were reclaimed.
func releaseStaleClaims(ctx context.Context, st *store.Store, ttl int64) (int, error) {
	now := st.Now()
	var rows []staleClaim
	err := sqlx.Query(st.Conn(), `SELECT id, claim_lock, worker_pid, claim_expires, last_heartbeat_at, current_run_id FROM tasks
		WHERE status = 'running' AND claim_expires IS NOT NULL AND claim_expires < ?`, []any{now}, func(r *sqlx.Row) error {
		rows = append(rows, staleClaim{id: r.Text("id"), lock: r.NullText("claim_lock"), workerPID: r.NullInt("worker_pid"),
			claimExpires: r.Int("claim_expires"), lastHeartbeat: r.NullInt("last_heartbeat_at"), runID: r.NullInt("current_run_id")})
		return nil
	})
	if err != nil {
		return 0, st.Corrupt(err)
	}
	var live, victims []staleClaim
	for _, row := range rows {
		if store.HostLocal(row.lock) && row.workerPID != nil && proc.Alive(int(*row.workerPID)) && !heartbeatStale(row.lastHeartbeat, now) {
			live = append(live, row)
		} else {
			victims = append(victims, row)
		}
	}
	err = writeBatches(ctx, st, "extend claims", len(live), func(tx *store.Tx, i int) error {
		return extendLiveStaleClaim(tx, live[i], now, ttl)
	}, nil)
	if err != nil {
		return 0, err
	}
	pids := make([]*int64, len(victims))
	locks := make([]*string, len(victims))
	for i, r := range victims {
		pids[i], locks[i] = r.workerPID, r.lock
	}
	terms := terminateAll(ctx, st, pids, locks)
	var left leftovers
	for i, row := range victims {
		// a worker whose supervisor is gone may have left processes behind
		if terms[i].Done && row.runID != nil && store.HostLocal(row.lock) {
			left.add(row.id, *row.runID)
		}
	}
	left.kill()
	done := make([]bool, len(victims))
	reclaimed := 0
	err = writeBatches(ctx, st, "release stale claims", len(victims), func(tx *store.Tx, i int) error {
		var err error
		done[i], err = settleStaleClaim(tx, victims[i], terms[i], now)
		return err
	}, func(lo, hi int) { reclaimed += count(done[lo:hi]) })
	return reclaimed, err
}

// count is how many of done are true.
func count(done []bool) int {
	n := 0
	for _, d := range done {
		if d {
			n++
		}
	}
	return n
}

func heartbeatStale(hb *int64, now int64) bool {
	return hb != nil && now-*hb > ClaimHeartbeatMaxStale
}

// terminateAll stops the worker of every (pid, lock) pair at once and
// returns the reports in order: a tick that must stop several workers
// waits one grace window, not one per worker.
func terminateAll(ctx context.Context, st *store.Store, pids []*int64, locks []*string) []store.Termination {
	out := make([]store.Termination, len(pids))
	var wg sync.WaitGroup
	for i := range pids {
		wg.Go(func() { out[i] = st.Terminate(ctx, pids[i], locks[i]) })
	}
	wg.Wait()
	return out
}

// settleStaleClaim defers or reclaims one expired claim after its worker
// was stopped; it reports whether the task was reclaimed.
func settleStaleClaim(tx *store.Tx, row staleClaim, term store.Termination, now int64) (bool, error) {
	if term.Survived() {
		return false, tx.DeferReclaim(row.id, row.lock, term, "ttl_expired_worker_alive")
	}
	term = withSupervisorKill(tx, row.id, term)
	retry, err := tx.RetryStatus(row.id, nil)
	if err != nil {
		return false, err
	}
	n, err := sqlx.Exec(tx.Conn(), `UPDATE tasks SET status = ?, claim_lock = NULL, claim_expires = NULL, worker_pid = NULL
		WHERE id = ? AND status = 'running' AND claim_lock IS ? AND claim_expires IS NOT NULL AND claim_expires < ?`,
		retry, row.id, row.lock, now)
	if err != nil || n != 1 {
		return false, err
	}
	payload := py.Obj("stale_lock", row.lock, "worker_pid", row.workerPID, "claim_expires", row.claimExpires,
		"last_heartbeat_at", row.lastHeartbeat, "now", now, "host_local", store.HostLocal(row.lock),
		"heartbeat_stale", heartbeatStale(row.lastHeartbeat, now), "retry_status", retry)
	return true, tx.RecordReclaim(row.id, term, "stale_lock="+pyStr(row.lock), payload)
}

// extendLiveStaleClaim is upstream's _extend_live_stale_claim.
func extendLiveStaleClaim(tx *store.Tx, row staleClaim, now, ttl int64) error {
	expires := now + ttl
	n, err := sqlx.Exec(tx.Conn(), `UPDATE tasks SET claim_expires = ? WHERE id = ? AND status = 'running'
		AND claim_lock IS ? AND claim_expires IS NOT NULL AND claim_expires < ?`, expires, row.id, row.lock, now)
	if err != nil || n != 1 {
		return err
	}
	if err := tx.ExtendRunClaim(row.id, expires); err != nil {
		return err
	}
	runID, err := tx.CurrentRunID(row.id)
	if err != nil {
		return err
	}
	return tx.AppendEvent(row.id, "claim_extended", py.Obj("reason", "pid_alive", "worker_pid", row.workerPID,
		"claim_lock", row.lock, "claim_expires_was", row.claimExpires, "claim_expires_now", expires,
		"last_heartbeat_at", row.lastHeartbeat), runID)
}

// ExtendWorkerClaim is the supervisor's claim keep-alive: while its worker
// lives, push claim_expires to now+ttl on the task and its run, as long as
// the claim and run are still the ones it was started for and the worker
// has heartbeat within ClaimHeartbeatMaxStale (a wedged worker must stay
// reclaimable). It also records the supervisor's pid when the task has
// none (its dispatcher died before it could), so crash detection sees the
// worker. No event: this runs every few minutes per worker.
func ExtendWorkerClaim(ctx context.Context, st *store.Store, id string, runID int64, lock string, ttl, pid int64) (bool, error) {
	ok := false
	err := st.WriteTx(ctx, "extend claim "+id, func(tx *store.Tx) error {
		now := st.Now()
		n, err := sqlx.Exec(tx.Conn(), `UPDATE tasks SET claim_expires = ?, worker_pid = COALESCE(worker_pid, ?) WHERE id = ?
			AND status = 'running' AND claim_lock = ? AND current_run_id = ? AND (last_heartbeat_at IS NULL OR last_heartbeat_at >= ?)`,
			now+ttl, pid, id, lock, runID, now-ClaimHeartbeatMaxStale)
		if err != nil || n != 1 {
			return err
		}
		ok = true
		_, err = sqlx.Exec(tx.Conn(), "UPDATE task_runs SET claim_expires = ?, worker_pid = COALESCE(worker_pid, ?) WHERE id = ?", now+ttl, pid, runID)
		return err
	})
	return ok, err
}

// setWorkerPID is upstream's _set_worker_pid: record the pid the
// dispatcher started (for kanbanshim, the worker's supervisor) on the task
// and its run, with a spawned event. Nothing changes when the run is no
// longer the task's current one (a worker that already finished).
func setWorkerPID(ctx context.Context, st *store.Store, id string, runID, pid int64) error {
	return st.WriteTx(ctx, "spawned "+id, func(tx *store.Tx) error {
		n, err := sqlx.Exec(tx.Conn(), "UPDATE tasks SET worker_pid = ? WHERE id = ? AND current_run_id = ?", pid, id, runID)
		if err != nil || n != 1 {
			return err
		}
		if _, err := sqlx.Exec(tx.Conn(), "UPDATE task_runs SET worker_pid = ? WHERE id = ?", pid, runID); err != nil {
			return err
		}
		return tx.AppendEvent(id, "spawned", py.Obj("pid", pid), &runID)
	})
}

// releaseUnspawned hands back a claim whose worker never started because
// no worker slot was free (another dispatcher took the last one between
// our probe and the supervisor's attempt). It is not a failure: the task
// returns to its lane and the empty run closes as reclaimed.
func releaseUnspawned(ctx context.Context, st *store.Store, id string, runID int64, reason string) error {
	return st.WriteTx(ctx, "release unspawned "+id, func(tx *store.Tx) error {
		retry, err := tx.RetryStatus(id, &runID)
		if err != nil {
			return err
		}
		n, err := sqlx.Exec(tx.Conn(), `UPDATE tasks SET status = ?, claim_lock = NULL, claim_expires = NULL, worker_pid = NULL
			WHERE id = ? AND status = 'running' AND current_run_id = ?`, retry, id, runID)
		if err != nil || n != 1 {
			return err
		}
		closed, err := tx.EndRun(id, "reclaimed", "reclaimed", nil, &reason, nil)
		if err != nil {
			return err
		}
		return tx.AppendEvent(id, "reclaimed", py.Obj("reason", reason, "retry_status", retry), closed)
	})
}

// orphan is a running task with broken claim bookkeeping.
type orphan struct {
	id           string
	lock         *string
	claimExpires *int64
	pid          *int64
}

// reconcileOrphanedRunning is upstream's reconcile_orphaned_running: a
// running task with no claim lock or expiry is requeued to ready (run
// closed as reclaimed, reconciled event, dispatcher comment), unless a
// live process still holds its pid.
func reconcileOrphanedRunning(ctx context.Context, st *store.Store) ([]string, error) {
	var rows []orphan
	err := sqlx.Query(st.Conn(), `SELECT id, claim_lock, claim_expires, worker_pid FROM tasks
		WHERE status = 'running' AND (claim_lock IS NULL OR claim_expires IS NULL)`, nil, func(r *sqlx.Row) error {
		rows = append(rows, orphan{id: r.Text("id"), lock: r.NullText("claim_lock"), claimExpires: r.NullInt("claim_expires"), pid: r.NullInt("worker_pid")})
		return nil
	})
	if err != nil {
		return nil, st.Corrupt(err)
	}
	var dead []orphan
	for _, row := range rows {
		if row.pid == nil || *row.pid <= 0 || !proc.Alive(int(*row.pid)) {
			dead = append(dead, row)
		}
	}
	done := make([]bool, len(dead))
	var out []string
	err = writeBatches(ctx, st, "reconcile orphans", len(dead), func(tx *store.Tx, i int) error {
		var err error
		done[i], err = reconcileOrphan(tx, st.Now(), dead[i])
		return err
	}, func(lo, hi int) { out = appendDone(out, done, lo, hi, func(i int) string { return dead[i].id }) })
	return out, err
}

func reconcileOrphan(tx *store.Tx, now int64, row orphan) (bool, error) {
	n, err := sqlx.Exec(tx.Conn(), `UPDATE tasks SET status = 'ready', claim_lock = NULL, claim_expires = NULL, worker_pid = NULL,
		last_heartbeat_at = NULL WHERE id = ? AND status = 'running' AND claim_lock IS ? AND claim_expires IS ?`,
		row.id, row.lock, row.claimExpires)
	if err != nil || n != 1 {
		return false, err
	}
	payload := py.Obj("reason", "orphaned_running", "claim_lock", row.lock, "claim_expires", row.claimExpires,
		"worker_pid", row.pid, "now", now)
	errText := "orphaned running card (broken claim bookkeeping)"
	runID, err := tx.EndRun(row.id, "reclaimed", "reclaimed", nil, &errText, payload)
	if err != nil {
		return false, err
	}
	if err := tx.AddComment(row.id, "dispatcher",
		"reconciliation: card was 'running' with no valid claim (dead/gone worker) — requeued to ready"); err != nil {
		return false, err
	}
	return true, tx.AppendEvent(row.id, "reconciled", payload, runID)
}

// pyStr is Python's f"{x}" of an optional string ("None" for NULL).
func pyStr(s *string) string {
	if s == nil {
		return "None"
	}
	return *s
}
