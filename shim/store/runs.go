package store

import (
	"fmt"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// Run is one task_runs row (an attempt).
type Run struct {
	ID                int64
	TaskID            string
	Profile           *string
	StepKey           *string
	Status            string
	ClaimLock         *string
	ClaimExpires      *int64
	WorkerPID         *int64
	MaxRuntimeSeconds *int64
	LastHeartbeatAt   *int64
	StartedAt         int64
	EndedAt           *int64
	Outcome           *string
	Summary           *string
	Metadata          any
	Error             *string
}

func scanRun(r *sqlx.Row) Run {
	return Run{
		ID: r.Int("id"), TaskID: r.Text("task_id"), Profile: r.NullText("profile"), StepKey: r.NullText("step_key"),
		Status: r.Text("status"), ClaimLock: r.NullText("claim_lock"), ClaimExpires: r.NullInt("claim_expires"),
		WorkerPID: r.NullInt("worker_pid"), MaxRuntimeSeconds: r.NullInt("max_runtime_seconds"),
		LastHeartbeatAt: r.NullInt("last_heartbeat_at"), StartedAt: r.Int("started_at"), EndedAt: r.NullInt("ended_at"),
		Outcome: r.NullText("outcome"), Summary: r.NullText("summary"), Metadata: decodeJSON(r.NullText("metadata")),
		Error: r.NullText("error"),
	}
}

// ListRuns returns a task's runs in start order. stateType ("status" or
// "outcome") and stateName filter together.
func (s *Store) ListRuns(taskID, stateType, stateName string) ([]Run, error) {
	q := "SELECT * FROM task_runs WHERE task_id = ?"
	args := []any{taskID}
	switch stateType {
	case "":
	case "status", "outcome":
		q += " AND " + stateType + " = ?"
		args = append(args, stateName)
	default:
		return nil, fmt.Errorf("state_type must be 'status' or 'outcome'")
	}
	var out []Run
	err := sqlx.Query(s.conn, q+" ORDER BY started_at ASC, id ASC", args, func(r *sqlx.Row) error {
		out = append(out, scanRun(r))
		return nil
	})
	return out, s.classify(err)
}

// LatestSummary is the newest non-empty run summary.
func (s *Store) LatestSummary(taskID string) (*string, error) {
	v, ok, err := sqlx.QueryText(s.conn, "SELECT summary FROM task_runs WHERE task_id = ? AND summary IS NOT NULL AND summary != '' ORDER BY COALESCE(ended_at, started_at) DESC, id DESC LIMIT 1", taskID)
	if err != nil || !ok {
		return nil, s.classify(err)
	}
	return &v, nil
}

// LatestRun is the most recent run of the task (open or closed).
func (s *Store) LatestRun(taskID string) (*Run, error) {
	var out *Run
	err := sqlx.Query(s.conn, "SELECT * FROM task_runs WHERE task_id = ? ORDER BY started_at DESC, id DESC LIMIT 1", []any{taskID}, func(r *sqlx.Row) error {
		run := scanRun(r)
		out = &run
		return nil
	})
	return out, s.classify(err)
}

// endRun closes the task's active run (status defaults to outcome) and
// clears tasks.current_run_id. It returns nil when no run was active.
func (s *Store) endRun(taskID, outcome, status string, summary, errText *string, metadata any) (*int64, error) {
	runID, err := s.currentRunID(taskID)
	if err != nil || runID == nil {
		return nil, err
	}
	if status == "" {
		status = outcome
	}
	_, err = sqlx.Exec(s.conn, `UPDATE task_runs SET status = ?, outcome = ?, summary = ?, error = ?, metadata = ?, ended_at = ?,
		claim_lock = NULL, claim_expires = NULL, worker_pid = NULL WHERE id = ? AND ended_at IS NULL`,
		status, outcome, summary, errText, jsonOrNull(metadata), s.now(), *runID)
	if err != nil {
		return nil, err
	}
	if _, err := sqlx.Exec(s.conn, "UPDATE tasks SET current_run_id = NULL WHERE id = ?", taskID); err != nil {
		return nil, err
	}
	return runID, nil
}

// jsonOrNull is upstream's _json_or_null: falsy -> NULL, else json.dumps.
func jsonOrNull(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case py.Object:
		if len(x) == 0 {
			return nil
		}
	case []any:
		if len(x) == 0 {
			return nil
		}
	case string:
		if x == "" {
			return nil
		}
	}
	return py.Compact(v)
}

// synthesizeEndedRun records a zero-length closed run for a terminal
// transition of a task that was never claimed, so handoff fields survive.
func (s *Store) synthesizeEndedRun(taskID, outcome string, summary, errText *string, metadata any) (*int64, error) {
	now := s.now()
	var profile, stepKey *string
	err := sqlx.Query(s.conn, "SELECT assignee, current_step_key FROM tasks WHERE id = ?", []any{taskID}, func(r *sqlx.Row) error {
		profile, stepKey = r.NullText("assignee"), r.NullText("current_step_key")
		return nil
	})
	if err != nil {
		return nil, err
	}
	id, err := sqlx.Insert(s.conn, `INSERT INTO task_runs (task_id, profile, step_key, status, outcome, summary, error, metadata, started_at, ended_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, taskID, profile, stepKey, outcome, outcome, summary, errText, jsonOrNull(metadata), now, now)
	return &id, err
}

// endOrSynthesizeRun closes the active run, or synthesizes one when none
// was active and synthesize holds.
func (s *Store) endOrSynthesizeRun(taskID, outcome, status string, summary *string, metadata any, synthesize bool) (*int64, error) {
	id, err := s.endRun(taskID, outcome, status, summary, nil, metadata)
	if err != nil || id != nil || !synthesize {
		return id, err
	}
	return s.synthesizeEndedRun(taskID, outcome, summary, nil, metadata)
}

// reclaimDanglingRun closes a leaked open run before a status flip, so
// "current_run_id IS NULL iff no run is open" holds.
func (s *Store) reclaimDanglingRun(taskID string, statuses []string, note string) error {
	q := "SELECT current_run_id FROM tasks WHERE id = ? AND status IN (" + placeholders(len(statuses)) + ")"
	args := append([]any{taskID}, anySlice(statuses)...)
	runID, ok, err := sqlx.QueryInt(s.conn, q, args...)
	if err != nil || !ok || runID == 0 {
		return err
	}
	_, err = sqlx.Exec(s.conn, `UPDATE task_runs SET status = 'reclaimed', outcome = 'reclaimed', summary = COALESCE(summary, ?), ended_at = ?,
		claim_lock = NULL, claim_expires = NULL, worker_pid = NULL WHERE id = ? AND ended_at IS NULL`, note, s.now(), runID)
	return err
}

// retryStatusForRun is "review" when the run was claimed from review
// (its claimed event says source_status=review), else "ready".
func (s *Store) retryStatusForRun(taskID string, runID *int64) (string, error) {
	if runID == nil {
		var err error
		if runID, err = s.currentRunID(taskID); err != nil || runID == nil {
			return "ready", err
		}
	}
	payload, err := s.latestEventPayload(taskID, "claimed", runID)
	if err != nil {
		return "", err
	}
	if st, _ := payload.String("source_status"); st == "review" {
		return "review", nil
	}
	return "ready", nil
}

// latestEventPayload is the decoded payload of the newest event of kind
// (optionally of one run); an empty object when there is none.
func (s *Store) latestEventPayload(taskID, kind string, runID *int64) (py.Object, error) {
	payload, found, err := s.latestEvent(taskID, kind, runID)
	if err != nil || !found {
		return py.Object{}, err
	}
	return jsonDict(payload), nil
}

func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	b := make([]byte, 0, 2*n)
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '?')
	}
	return string(b)
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
