package store

import (
	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// Task is one tasks row. Columns are read by name, so boards with older,
// newer or forked schemas load without complaint; a missing column reads
// as NULL (legacy spawn_failures / last_spawn_error are the fallbacks for
// their renamed successors, as upstream does).
type Task struct {
	ID                  string
	Title               string
	Body                *string
	Assignee            *string
	Status              string
	Priority            any // INTEGER, possibly NULL: printed as stored
	CreatedBy           *string
	CreatedAt           any
	StartedAt           *int64
	CompletedAt         *int64
	WorkspaceKind       string
	WorkspacePath       *string
	BranchName          *string
	ProjectID           *string
	ClaimLock           *string
	ClaimExpires        *int64
	Tenant              *string
	Result              *string
	IdempotencyKey      *string
	ConsecutiveFailures int64
	WorkerPID           *int64
	LastFailureError    *string
	MaxRuntimeSeconds   *int64
	LastHeartbeatAt     *int64
	CurrentRunID        *int64
	WorkflowTemplateID  *string
	CurrentStepKey      *string
	Skills              []string // nil: NULL or unparsable
	ModelOverride       *string
	ProviderOverride    *string
	ReasoningEffort     *string
	MaxRetries          *int64
	GoalMode            bool
	GoalMaxTurns        *int64
	SessionID           *string
	BlockKind           *string
	BlockRecurrences    int64
	CompletionContract  *string
	WorkflowRole        any // not an upstream column; NULL unless a fork has it
}

func scanTask(r *sqlx.Row) *Task {
	t := &Task{
		ID:                 r.Text("id"),
		Title:              r.Text("title"),
		Body:               r.NullText("body"),
		Assignee:           r.NullText("assignee"),
		Status:             r.Text("status"),
		Priority:           r.Value("priority"),
		CreatedBy:          r.NullText("created_by"),
		CreatedAt:          r.Value("created_at"),
		StartedAt:          r.NullInt("started_at"),
		CompletedAt:        r.NullInt("completed_at"),
		WorkspaceKind:      r.Text("workspace_kind"),
		WorkspacePath:      r.NullText("workspace_path"),
		BranchName:         r.NullText("branch_name"),
		ProjectID:          r.NullText("project_id"),
		ClaimLock:          r.NullText("claim_lock"),
		ClaimExpires:       r.NullInt("claim_expires"),
		Tenant:             r.NullText("tenant"),
		Result:             r.NullText("result"),
		IdempotencyKey:     r.NullText("idempotency_key"),
		WorkerPID:          r.NullInt("worker_pid"),
		MaxRuntimeSeconds:  r.NullInt("max_runtime_seconds"),
		LastHeartbeatAt:    r.NullInt("last_heartbeat_at"),
		CurrentRunID:       r.NullInt("current_run_id"),
		WorkflowTemplateID: r.NullText("workflow_template_id"),
		CurrentStepKey:     r.NullText("current_step_key"),
		MaxRetries:         r.NullInt("max_retries"),
		SessionID:          r.NullText("session_id"),
		CompletionContract: r.NullText("completion_contract"),
		ModelOverride:      emptyNil(r.NullText("model_override")),
		ProviderOverride:   emptyNil(r.NullText("provider_override")),
		ReasoningEffort:    emptyNil(r.NullText("reasoning_effort")),
		BlockKind:          emptyNil(r.NullText("block_kind")),
		GoalMode:           r.Int("goal_mode") != 0,
		BlockRecurrences:   r.Int("block_recurrences"),
		WorkflowRole:       r.Value("workflow_role"),
	}
	if gm := r.NullInt("goal_max_turns"); gm != nil && *gm != 0 {
		t.GoalMaxTurns = gm
	}
	if r.Has("consecutive_failures") {
		t.ConsecutiveFailures = r.Int("consecutive_failures")
	} else {
		t.ConsecutiveFailures = r.Int("spawn_failures")
	}
	if r.Has("last_failure_error") {
		t.LastFailureError = r.NullText("last_failure_error")
	} else {
		t.LastFailureError = r.NullText("last_spawn_error")
	}
	t.Skills = parseSkills(r.NullText("skills"))
	return t
}

// parseSkills decodes the JSON skills list; like upstream, anything that
// is not a list reads as nil and empty entries are dropped.
func parseSkills(s *string) []string {
	if s == nil || *s == "" {
		return nil
	}
	v, err := py.Loads(*s)
	if err != nil {
		return nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil
	}
	out := []string{}
	for _, x := range arr {
		switch y := x.(type) {
		case string:
			if y != "" {
				out = append(out, y)
			}
		case nil, bool:
			if y != nil && y.(bool) {
				out = append(out, "True")
			}
		default:
			out = append(out, py.ReprValue(y))
		}
	}
	return out
}

func emptyNil(s *string) *string {
	if s == nil || *s == "" {
		return nil
	}
	return s
}

// Str returns *s or "" — for messages.
func Str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// GetTask returns the task, or nil when there is no such id.
func (s *Store) GetTask(id string) (*Task, error) {
	var t *Task
	err := sqlx.Query(s.conn, "SELECT * FROM tasks WHERE id = ?", []any{id}, func(r *sqlx.Row) error {
		t = scanTask(r)
		return nil
	})
	return t, s.classify(err)
}

// taskStatus returns the status of id, or "" when missing.
func (s *Store) taskStatus(id string) (string, error) {
	st, _, err := sqlx.QueryText(s.conn, "SELECT status FROM tasks WHERE id = ?", id)
	return st, err
}

func (s *Store) currentRunID(id string) (*int64, error) {
	v, ok, err := sqlx.QueryInt(s.conn, "SELECT current_run_id FROM tasks WHERE id = ?", id)
	if err != nil || !ok || v == 0 {
		return nil, err
	}
	return &v, nil
}
