package dispatch

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/kanbanshim/kanbanshim/internal/proc"
	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// Crash-classification constants, as upstream.
const (
	// DefaultCrashGrace is upstream's DEFAULT_CRASH_GRACE_SECONDS: a task
	// started less than this long ago is never declared crashed.
	DefaultCrashGrace = 30
	// RateLimitExitCode is KANBAN_RATE_LIMIT_EXIT_CODE (EX_TEMPFAIL): the
	// worker hit a provider quota wall; no failure is counted.
	RateLimitExitCode = 75
	// protocolViolationLimit is _PROTOCOL_VIOLATION_FAILURE_LIMIT.
	protocolViolationLimit = 3
	// protocolViolationScan is _PROTOCOL_VIOLATION_SCAN_LIMIT.
	protocolViolationScan = 50
)

const protocolViolationError = "worker exited cleanly (rc=0) without calling kanban_complete or kanban_block — " +
	"protocol violation. If the prior run already did the work, verify it and report the result via " +
	"kanban_complete; a run that ends without a terminal kanban call counts as failed no matter what it did."

// ExitLookup returns the reaped exit of a pid this process started (the
// daemon reaps its supervisors): an exit code or a signal. ok is false
// when the pid is unknown.
type ExitLookup func(pid int64) (code, signal *int64, ok bool)

// crashOptions configure detectCrashedWorkers.
type crashOptions struct {
	grace        int64 // seconds after start during which a dead pid is not trusted
	failureLimit int64
	exits        ExitLookup // may be nil
}

// crashReport is what one crash sweep did.
type crashReport struct {
	crashed, autoBlocked, rateLimited []string
}

// crashDetail is one crash to account against the breaker after the sweep.
type crashDetail struct {
	id                string
	pid               int64
	claimer           *string
	protocolViolation bool
	errText           string
}

// detectCrashedWorkers is upstream's detect_crashed_workers: every
// host-local running task whose worker pid is dead (past the launch
// grace) goes back to its lane, its run closed by how the worker ended:
// rc 0 is a protocol violation (own retry budget), rc 75 a rate limit (no
// failure), anything else a crash counted by the breaker. How it ended
// comes from the supervisor's worker_exited record, else from exits, else
// "unknown". What is left of the dead worker's process tree is killed
// first, so a respawn never runs beside it.
func detectCrashedWorkers(ctx context.Context, st *store.Store, o crashOptions) (crashReport, error) {
	var rep crashReport
	// Look before taking the write lease: most ticks find nothing dead.
	dead, err := deadCandidates(st, o.grace)
	if err != nil || len(dead) == 0 {
		return rep, st.Corrupt(err)
	}
	var left leftovers
	for _, d := range dead {
		if d.runID != nil {
			left.add(d.id, *d.runID)
		}
	}
	left.kill()
	var details []crashDetail
	err = st.WriteTx(ctx, "detect crashed workers", func(tx *store.Tx) error {
		rep, details = crashReport{}, nil
		return reclaimDeadWorkers(st, tx, o, &rep, &details)
	})
	if err != nil {
		return rep, err
	}
	blocked, err := accountCrashes(ctx, st, details, o.failureLimit)
	rep.autoBlocked = blocked
	return rep, err
}

// deadRow is a running, host-local task with a worker pid.
type deadRow struct {
	id        string
	pid       int64
	lock      *string
	startedAt *int64
	runID     *int64
}

func deadCandidates(st *store.Store, grace int64) ([]deadRow, error) {
	var out []deadRow
	now := st.Now()
	err := sqlx.Query(st.Conn(), "SELECT id, worker_pid, claim_lock, started_at, current_run_id FROM tasks WHERE status = 'running' AND worker_pid IS NOT NULL",
		nil, func(r *sqlx.Row) error {
			d := deadRow{id: r.Text("id"), pid: r.Int("worker_pid"), lock: r.NullText("claim_lock"), startedAt: r.NullInt("started_at"), runID: r.NullInt("current_run_id")}
			if !store.HostLocal(d.lock) || (d.startedAt != nil && now-*d.startedAt < grace) || proc.Alive(int(d.pid)) {
				return nil
			}
			out = append(out, d)
			return nil
		})
	return out, err
}

func reclaimDeadWorkers(st *store.Store, tx *store.Tx, o crashOptions, rep *crashReport, details *[]crashDetail) error {
	rows, err := deadCandidates(st, o.grace)
	if err != nil {
		return err
	}
	for _, d := range rows {
		dead, err := classifyDead(tx, d, o.exits)
		if err != nil {
			return err
		}
		retry, err := tx.RetryStatus(d.id, nil)
		if err != nil {
			return err
		}
		dead.payload = dead.payload.Set("retry_status", retry)
		n, err := sqlx.Exec(tx.Conn(), `UPDATE tasks SET status = ?, claim_lock = NULL, claim_expires = NULL, worker_pid = NULL
			WHERE id = ? AND status = 'running' AND worker_pid = ? AND claim_lock IS ?`, retry, d.id, d.pid, d.lock)
		if err != nil {
			return err
		}
		if n != 1 {
			continue
		}
		if err := closeDeadRun(tx, d, dead); err != nil {
			return err
		}
		if dead.rateLimited {
			rep.rateLimited = append(rep.rateLimited, d.id)
			continue
		}
		rep.crashed = append(rep.crashed, d.id)
		*details = append(*details, crashDetail{d.id, d.pid, d.lock, dead.protocolViolation, dead.errText})
	}
	return nil
}

func closeDeadRun(tx *store.Tx, d deadRow, dead deadWorker) error {
	outcome := "crashed"
	if dead.rateLimited {
		outcome = "rate_limited"
	}
	meta := append(py.Object{}, dead.payload...)
	runID, err := tx.EndRun(d.id, outcome, outcome, nil, &dead.errText, meta)
	if err != nil {
		return err
	}
	if err := tx.AppendEvent(d.id, dead.event, dead.payload, runID); err != nil {
		return err
	}
	if dead.rateLimited || dead.protocolViolation {
		_, err = sqlx.Exec(tx.Conn(), "UPDATE tasks SET last_failure_error = ? WHERE id = ?", py.Cut(dead.errText, 500), d.id)
	}
	return err
}

// deadWorker is how one dead worker is booked (upstream's _DeadWorker).
type deadWorker struct {
	kind              string
	code              *int64
	errText           string
	event             string
	payload           py.Object
	protocolViolation bool
	rateLimited       bool
}

// classifyDead maps how the worker ended to its bookkeeping.
func classifyDead(tx *store.Tx, d deadRow, exits ExitLookup) (deadWorker, error) {
	kind, code := "unknown", (*int64)(nil)
	var ex *WorkerExit
	var err error
	if d.runID != nil {
		if ex, err = workerExit(tx, d.id, *d.runID); err != nil {
			return deadWorker{}, err
		}
	}
	switch {
	case ex != nil:
		kind, code = ex.Class()
	case exits != nil:
		if c, sig, ok := exits(d.pid); ok {
			kind, code = exitClass(c, sig, false)
		}
	}
	return bookDead(d.pid, d.lock, kind, code), nil
}

func bookDead(pid int64, claimer *string, kind string, code *int64) deadWorker {
	switch kind {
	case "clean_exit":
		return deadWorker{kind: kind, code: code, errText: protocolViolationError, event: "protocol_violation",
			payload:           py.Obj("pid", pid, "claimer", claimer, "exit_code", code, "protocol_violation", true),
			protocolViolation: true}
	case "rate_limited":
		return deadWorker{kind: kind, code: code, event: "rate_limited", rateLimited: true,
			errText: fmt.Sprintf("pid %d exited rate-limited (quota wall) — requeued without counting a failure", pid),
			payload: py.Obj("pid", pid, "claimer", claimer, "exit_code", code)}
	}
	var errText string
	switch kind {
	case "nonzero_exit":
		errText = fmt.Sprintf("pid %d exited with code %d", pid, *code)
	case "signaled":
		errText = fmt.Sprintf("pid %d killed by signal %d", pid, *code)
	default:
		errText = fmt.Sprintf("pid %d not alive", pid)
	}
	payload := py.Obj("pid", pid, "claimer", claimer)
	if code != nil && kind != "unknown" {
		payload = payload.Set("exit_kind", kind).Set("exit_code", code)
	}
	return deadWorker{kind: kind, code: code, errText: errText, event: "crashed", payload: payload}
}

// exitClass is upstream's _classify_worker_exit over an exit code or a
// signal; a clean exit of a worker its supervisor was told to stop reads
// as SIGTERM, not as a protocol violation (upstream #59799).
func exitClass(code, signal *int64, terminated bool) (string, *int64) {
	switch {
	case signal != nil:
		return "signaled", signal
	case code == nil:
		return "unknown", nil
	case *code == 0 && terminated:
		sig := int64(15)
		return "signaled", &sig
	case *code == 0:
		return "clean_exit", code
	case *code == RateLimitExitCode:
		return "rate_limited", code
	}
	return "nonzero_exit", code
}

// accountCrashes counts each crash against the breaker (upstream's
// _account_crashes) and returns the tasks it blocked. Protocol violations
// have their own streak budget; three or more crashes with one error
// fingerprint in a sweep are systemic and trip at once.
//
// Unlike upstream, which counts crashes against the default limit of 2
// whatever --failure-limit says, the sweep uses the tick's limit, the
// same one recompute_ready uses to keep a tripped task blocked.
func accountCrashes(ctx context.Context, st *store.Store, details []crashDetail, limit int64) ([]string, error) {
	fps := map[string]int{}
	for _, d := range details {
		fps[errorFingerprint(d.errText)]++
	}
	tripped := make([]bool, len(details))
	var blocked []string
	err := writeBatches(ctx, st, "count crashes", len(details), func(tx *store.Tx, i int) error {
		d := details[i]
		f, skip, err := crashFailure(st, d, fps[errorFingerprint(d.errText)] >= 3, limit)
		if err != nil || skip {
			return err
		}
		tripped[i], err = recordFailure(tx, d.id, f)
		return err
	}, func(lo, hi int) {
		blocked = appendDone(blocked, tripped, lo, hi, func(i int) string { return details[i].id })
	})
	return blocked, err
}

// crashFailure builds the breaker accounting of one crash; skip is true
// for a protocol violation still inside its budget.
func crashFailure(st *store.Store, d crashDetail, systemic bool, limit int64) (failure, bool, error) {
	f := failure{outcome: "crashed", err: d.errText, limit: limit, extra: py.Obj("pid", d.pid, "claimer", d.claimer)}
	if systemic {
		f.limit = 1
	}
	if !d.protocolViolation {
		return f, false, nil
	}
	streak, err := protocolViolationStreak(st, d.id)
	if err != nil {
		return f, false, err
	}
	maxRetries, found, err := sqlx.QueryInt(st.Conn(), "SELECT max_retries FROM tasks WHERE id = ?", d.id)
	if err != nil {
		return f, false, err
	}
	budget := int64(protocolViolationLimit)
	if found {
		budget = maxRetries
	}
	if streak < budget {
		return f, true, nil
	}
	f.limit, f.forceTrip = budget, true
	f.extra = f.extra.Set("protocol_violations", streak).Set("protocol_violation_limit", budget)
	return f, false, nil
}

// protocolViolationStreak counts the trailing closed runs that were
// protocol violations; rate-limited runs are neutral, anything else ends
// the streak. A run counts when its metadata's protocol_violation is
// truthy the way Python reads it (an empty list or object is not) or its
// error says "protocol violation".
func protocolViolationStreak(st *store.Store, id string) (int64, error) {
	var streak int64
	stop := false
	err := sqlx.Query(st.Conn(), "SELECT outcome, error, metadata FROM task_runs WHERE task_id = ? AND ended_at IS NOT NULL ORDER BY id DESC LIMIT ?",
		[]any{id, protocolViolationScan}, func(r *sqlx.Row) error {
			if stop {
				return nil
			}
			outcome := store.Str(r.NullText("outcome"))
			if outcome == "rate_limited" {
				return nil
			}
			pv, _ := jsonObject(r.NullText("metadata")).Get("protocol_violation")
			if outcome == "crashed" && (py.Truthy(pv) || strings.Contains(store.Str(r.NullText("error")), "protocol violation")) {
				streak++
				return nil
			}
			stop = true
			return nil
		})
	return streak, err
}

// jsonObject decodes a JSON object column; anything else (NULL, bad JSON,
// another type) is an empty object.
func jsonObject(s *string) py.Object {
	if s == nil {
		return py.Object{}
	}
	if v, err := py.Loads(*s); err == nil {
		if o, ok := v.(py.Object); ok {
			return o
		}
	}
	return py.Object{}
}

var (
	fpPidRe = regexp.MustCompile(`\bpid \d+\b`)
	fpTSRe  = regexp.MustCompile(`\b\d{10,}\b`)
)

// errorFingerprint is upstream's _error_fingerprint: the first 80 chars
// with pids and timestamps masked, so same-cause crashes group.
func errorFingerprint(text string) string {
	fp := fpPidRe.ReplaceAllString(py.Cut(text, 80), "pid N")
	fp = fpTSRe.ReplaceAllString(fp, "<TS>")
	return strings.TrimSpace(strings.ToLower(fp))
}
