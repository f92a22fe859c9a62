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

// taskColumns are the tasks columns scanTask reads, in taskCol order.
var taskColumns = [...]string{"id", "title", "body", "assignee", "status", "priority", "created_by", "created_at",
	"started_at", "completed_at", "workspace_kind", "workspace_path", "branch_name", "project_id", "claim_lock",
	"claim_expires", "tenant", "result", "idempotency_key", "worker_pid", "max_runtime_seconds", "last_heartbeat_at",
	"current_run_id", "workflow_template_id", "current_step_key", "max_retries", "session_id", "completion_contract",
	"model_override", "provider_override", "reasoning_effort", "block_kind", "goal_mode", "block_recurrences",
	"workflow_role", "goal_max_turns", "consecutive_failures", "spawn_failures", "last_failure_error",
	"last_spawn_error", "skills"}

const (
	cID = iota
	cTitle
	cBody
	cAssignee
	cStatus
	cPriority
	cCreatedBy
	cCreatedAt
	cStartedAt
	cCompletedAt
	cWorkspaceKind
	cWorkspacePath
	cBranchName
	cProjectID
	cClaimLock
	cClaimExpires
	cTenant
	cResult
	cIdempotencyKey
	cWorkerPID
	cMaxRuntimeSeconds
	cLastHeartbeatAt
	cCurrentRunID
	cWorkflowTemplateID
	cCurrentStepKey
	cMaxRetries
	cSessionID
	cCompletionContract
	cModelOverride
	cProviderOverride
	cReasoningEffort
	cBlockKind
	cGoalMode
	cBlockRecurrences
	cWorkflowRole
	cGoalMaxTurns
	cConsecutiveFailures
	cSpawnFailures
	cLastFailureError
	cLastSpawnError
	cSkills
	nTaskColumns
)

// taskScanner reads tasks rows from one query. It looks each column up by
// name once per query rather than once per row, and gives each row three
// allocations (the Task, one backing block for its pointer fields, one
// string holding all its text) instead of one per column: on a long list
// the allocations were most of the Go side of reading a row.
type taskScanner struct {
	col     [nTaskColumns]int // position in the result, -1 when absent
	scratch []byte            // the row's text, before it becomes one string
}

// Text and integer columns read into a row's backing block, and the
// non-pointer text fields.
var (
	textColumns = [...]int{cBody, cAssignee, cCreatedBy, cWorkspacePath, cBranchName, cProjectID, cClaimLock,
		cTenant, cResult, cIdempotencyKey, cWorkflowTemplateID, cCurrentStepKey, cSessionID, cCompletionContract,
		cModelOverride, cProviderOverride, cReasoningEffort, cBlockKind, cLastFailureError,
		cID, cTitle, cStatus, cWorkspaceKind}
	intColumns = [...]int{cStartedAt, cCompletedAt, cClaimExpires, cWorkerPID, cMaxRuntimeSeconds,
		cLastHeartbeatAt, cCurrentRunID, cMaxRetries, cGoalMaxTurns}
)

// nTextPtrs of textColumns back *string fields; the rest are plain strings.
const nTextPtrs = 19

// taskBacking is where a row's *string and *int64 fields point.
type taskBacking struct {
	strs [len(textColumns)]string
	ints [len(intColumns)]int64
}

func newTaskScanner(r *sqlx.Row) *taskScanner {
	sc := &taskScanner{}
	for i, name := range taskColumns {
		sc.col[i] = r.Index(name)
	}
	// Legacy spawn_* columns are the fallbacks for their renamed
	// successors, as upstream reads them.
	if sc.col[cConsecutiveFailures] < 0 {
		sc.col[cConsecutiveFailures] = sc.col[cSpawnFailures]
	}
	if sc.col[cLastFailureError] < 0 {
		sc.col[cLastFailureError] = sc.col[cLastSpawnError]
	}
	return sc
}

func (sc *taskScanner) scan(r *sqlx.Row) *Task {
	c := &sc.col
	b := new(taskBacking)
	var texts [len(textColumns)]*string
	var ends [len(textColumns) + 1]int
	sc.scratch = sc.scratch[:0]
	for k, col := range textColumns {
		if !r.IsNullAt(c[col]) {
			// Copied at once: the bytes live in SQLite's memory.
			sc.scratch = append(sc.scratch, r.RawTextAt(c[col])...)
			texts[k] = &b.strs[k]
		}
		ends[k+1] = len(sc.scratch)
	}
	all := string(sc.scratch)
	for k := range textColumns {
		b.strs[k] = all[ends[k]:ends[k+1]]
	}
	var ints [len(intColumns)]*int64
	for k, col := range intColumns {
		if !r.IsNullAt(c[col]) {
			b.ints[k] = r.IntAt(c[col])
			ints[k] = &b.ints[k]
		}
	}
	t := &Task{
		ID:                  b.strs[nTextPtrs],
		Title:               b.strs[nTextPtrs+1],
		Status:              b.strs[nTextPtrs+2],
		WorkspaceKind:       b.strs[nTextPtrs+3],
		Body:                texts[0],
		Assignee:            texts[1],
		CreatedBy:           texts[2],
		WorkspacePath:       texts[3],
		BranchName:          texts[4],
		ProjectID:           texts[5],
		ClaimLock:           texts[6],
		Tenant:              texts[7],
		Result:              texts[8],
		IdempotencyKey:      texts[9],
		WorkflowTemplateID:  texts[10],
		CurrentStepKey:      texts[11],
		SessionID:           texts[12],
		CompletionContract:  texts[13],
		ModelOverride:       emptyNil(texts[14]),
		ProviderOverride:    emptyNil(texts[15]),
		ReasoningEffort:     emptyNil(texts[16]),
		BlockKind:           emptyNil(texts[17]),
		LastFailureError:    texts[18],
		StartedAt:           ints[0],
		CompletedAt:         ints[1],
		ClaimExpires:        ints[2],
		WorkerPID:           ints[3],
		MaxRuntimeSeconds:   ints[4],
		LastHeartbeatAt:     ints[5],
		CurrentRunID:        ints[6],
		MaxRetries:          ints[7],
		Priority:            r.ValueAt(c[cPriority]),
		CreatedAt:           r.ValueAt(c[cCreatedAt]),
		WorkflowRole:        r.ValueAt(c[cWorkflowRole]),
		GoalMode:            r.IntAt(c[cGoalMode]) != 0,
		BlockRecurrences:    r.IntAt(c[cBlockRecurrences]),
		ConsecutiveFailures: r.IntAt(c[cConsecutiveFailures]),
	}
	if gm := ints[8]; gm != nil && *gm != 0 {
		t.GoalMaxTurns = gm
	}
	t.Skills = parseSkills(r.RawTextAt(c[cSkills]))
	return t
}

// scanTask reads one tasks row (for queries that read one or a few).
func scanTask(r *sqlx.Row) *Task { return newTaskScanner(r).scan(r) }

// parseSkills decodes the JSON skills list; like upstream, anything that
// is not a list reads as nil and empty entries are dropped. NULL and ""
// read as nil.
func parseSkills(raw []byte) []string {
	if len(raw) == 0 {
		return nil
	}
	if out, ok := simpleSkills(raw); ok {
		return out
	}
	return loadSkills(string(raw))
}

// loadSkills is parseSkills through the general JSON decoder.
func loadSkills(raw string) []string {
	v, err := py.Loads(raw)
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

// simpleSkills parses the list every board holds in practice, a JSON
// list of plain ASCII strings without escapes (`["a", "b"]`), without the
// general decoder; anything else reports !ok and takes the general path.
func simpleSkills(raw []byte) ([]string, bool) {
	i := skipJSONSpace(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return nil, false
	}
	out := []string{}
	i = skipJSONSpace(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		return out, skipJSONSpace(raw, i+1) == len(raw)
	}
	for i < len(raw) {
		if raw[i] != '"' {
			return nil, false
		}
		j := i + 1
		for j < len(raw) && raw[j] != '"' {
			if c := raw[j]; c < 0x20 || c >= 0x80 || c == '\\' {
				return nil, false
			}
			j++
		}
		if j >= len(raw) {
			return nil, false
		}
		if j > i+1 {
			out = append(out, string(raw[i+1:j]))
		}
		i = skipJSONSpace(raw, j+1)
		if i < len(raw) && raw[i] == ']' {
			return out, skipJSONSpace(raw, i+1) == len(raw)
		}
		if i >= len(raw) || raw[i] != ',' {
			return nil, false
		}
		i = skipJSONSpace(raw, i+1)
	}
	return nil, false
}

func skipJSONSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
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
