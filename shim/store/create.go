package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// NewTask is what `create` asks for. Nil pointers are "not given".
type NewTask struct {
	Title              string
	Body               *string
	Assignee           *string
	CreatedBy          string
	WorkspaceKind      string // "" = scratch
	WorkspacePath      *string
	BranchName         *string
	Tenant             *string
	Priority           int64
	Parents            []string
	Triage             bool
	IdempotencyKey     *string
	MaxRuntimeSeconds  *int64
	Skills             []string // nil = none given
	MaxRetries         *int64
	ModelOverride      *string
	ProviderOverride   *string
	ReasoningEffort    *string
	GoalMode           bool
	GoalMaxTurns       *int64
	InitialStatus      string // "running" (normal) or "blocked"
	SessionID          *string
	CreatorTaskID      *string
	CompletionContract *string
	// DefaultWorkdir is the board's default_workdir, inherited by dir and
	// worktree tasks that name no path.
	DefaultWorkdir string
}

// ValidWorkspaceKinds are upstream's workspace kinds.
var ValidWorkspaceKinds = []string{"dir", "scratch", "worktree"}

// KnownToolsets are hermes toolset names; they are refused as skills
// (agents confuse the two).
var KnownToolsets = []string{"web", "browser", "terminal", "file", "vision", "image_gen", "tts", "code_execution", "memory", "todo", "clarify", "delegation", "cronjob", "moa", "skills", "session_search", "homeassistant", "messaging", "kanban", "rl", "mcp"}

// NewTaskID is "t_" plus 8 random lowercase hex digits.
func NewTaskID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "t_" + hex.EncodeToString(b[:])
}

var (
	contractRepoRe = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	contractPRRe   = regexp.MustCompile(`^https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/pull/[0-9]+/?$`)
)

// ValidateContract normalises a completion contract: local-only (the
// default), OWNER/REPO, or a GitHub pull-request URL.
func ValidateContract(c *string) (string, error) {
	if c == nil || strings.TrimSpace(*c) == "" {
		return "local-only", nil
	}
	v := strings.TrimSpace(*c)
	if v == "local-only" || contractRepoRe.MatchString(v) || contractPRRe.MatchString(v) {
		return v, nil
	}
	return "", invalid("completion_contract must be 'local-only', OWNER/REPO, or a GitHub pull request URL, got %s", py.Repr(v))
}

// NormalizeSkills strips and dedupes skills; commas and toolset names are
// refused, like upstream.
func NormalizeSkills(skills []string) ([]string, error) {
	if skills == nil {
		return nil, nil
	}
	out := []string{}
	seen := map[string]bool{}
	var toolsets []string
	for _, s := range skills {
		name := strings.TrimSpace(s)
		if name == "" {
			continue
		}
		if strings.Contains(name, ",") {
			return nil, invalid("skill name cannot contain comma: %s (pass a list of separate names instead of a comma-joined string)", py.Repr(name))
		}
		if isToolset(name) {
			toolsets = append(toolsets, name)
			continue
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	if len(toolsets) > 0 {
		q := make([]string, len(toolsets))
		for i, t := range toolsets {
			q[i] = py.Repr(t)
		}
		noun := "is a toolset name"
		if len(toolsets) > 1 {
			noun = "are toolset names"
		}
		return nil, invalid("%s %s, not skill name(s). Put toolsets in the assignee profile's `toolsets:` config instead of per-task skills. Skills are named skill bundles (e.g. `blogwatcher`, `github-code-review`); toolsets are runtime capabilities (e.g. `web`, `browser`, `terminal`).", strings.Join(q, ", "), noun)
	}
	return out, nil
}

func isToolset(name string) bool {
	for _, t := range KnownToolsets {
		if strings.EqualFold(t, name) {
			return true
		}
	}
	return false
}

// CreateTask inserts a task (with its parent links, a created event and
// inherited notify subscriptions) and returns its id. An existing
// non-archived task with the same idempotency key is returned instead.
func (s *Store) CreateTask(ctx context.Context, n NewTask) (string, error) {
	contract, err := ValidateContract(n.CompletionContract)
	if err != nil {
		return "", err
	}
	model, provider := trimNil(n.ModelOverride), trimNil(n.ProviderOverride)
	if provider != nil && model == nil {
		return "", invalid("provider_override requires a model_override")
	}
	assignee := n.Assignee
	if assignee != nil {
		a := strings.ToLower(strings.TrimSpace(*assignee))
		assignee = &a
	}
	title := strings.TrimSpace(n.Title)
	if title == "" {
		return "", invalid("title is required")
	}
	if n.InitialStatus == "" {
		n.InitialStatus = "running"
	}
	if n.InitialStatus != "running" && n.InitialStatus != "blocked" {
		return "", invalid("initial_status must be one of ['blocked', 'running']")
	}
	kind := n.WorkspaceKind
	if kind == "" {
		kind = "scratch"
	}
	if !contains(ValidWorkspaceKinds, kind) {
		return "", invalid("workspace_kind must be one of ['dir', 'scratch', 'worktree'], got %s", py.Repr(kind))
	}
	branch := trimNil(n.BranchName)
	if branch != nil && kind != "worktree" {
		return "", invalid("branch_name is only valid for worktree workspaces")
	}
	skills, err := NormalizeSkills(n.Skills)
	if err != nil {
		return "", err
	}
	var parents []string
	for _, p := range n.Parents {
		if p != "" {
			parents = append(parents, p)
		}
	}
	if n.IdempotencyKey != nil && *n.IdempotencyKey != "" {
		id, found, err := sqlx.QueryText(s.conn, "SELECT id FROM tasks WHERE idempotency_key = ? AND status != 'archived' ORDER BY created_at DESC LIMIT 1", *n.IdempotencyKey)
		if err != nil || found {
			return id, s.classify(err)
		}
	}
	wsPath := n.WorkspacePath
	if wsPath == nil && (kind == "dir" || kind == "worktree") && n.DefaultWorkdir != "" {
		d := n.DefaultWorkdir
		wsPath = &d
	}
	var skillsJSON any
	if skills != nil {
		skillsJSON = py.Compact(skills)
	}
	var id string
	for attempt := 0; attempt < 2; attempt++ {
		id = NewTaskID()
		err = s.Write(ctx, "create "+id, func() error {
			status, tenant, err := s.initialState(parents, n.InitialStatus, n.Triage, n.Tenant)
			if err != nil {
				return err
			}
			now := s.now()
			_, err = sqlx.Exec(s.conn, `INSERT INTO tasks (id, title, body, assignee, status, priority, created_by, created_at,
				workspace_kind, workspace_path, branch_name, project_id, tenant, idempotency_key, max_runtime_seconds,
				skills, max_retries, model_override, provider_override, reasoning_effort, goal_mode, goal_max_turns,
				session_id, completion_contract) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				id, title, n.Body, assignee, status, n.Priority, n.CreatedBy, now, kind, wsPath, branch, nil, tenant,
				n.IdempotencyKey, n.MaxRuntimeSeconds, skillsJSON, n.MaxRetries, model, provider, n.ReasoningEffort,
				boolInt(n.GoalMode), n.GoalMaxTurns, n.SessionID, contract)
			if err != nil {
				return err
			}
			for _, p := range parents {
				if err := s.link(p, id); err != nil {
					return err
				}
			}
			var skillsPayload any
			if len(skills) > 0 {
				skillsPayload = skills
			}
			var goal any
			if n.GoalMode {
				goal = true
			}
			if err := s.appendEvent(id, "created", py.Obj("assignee", assignee, "status", status, "parents", parentsList(parents),
				"creator_task_id", n.CreatorTaskID, "tenant", tenant, "workspace_kind", kind, "workspace_path", wsPath,
				"branch_name", branch, "project_id", nil, "skills", skillsPayload, "goal_mode", goal,
				"model_override", model, "provider_override", provider), nil); err != nil {
				return err
			}
			if status == "blocked" {
				actor := n.CreatedBy
				if actor == "" {
					actor = "user"
				}
				if err := s.appendEvent(id, "blocked", py.Obj("reason", "initial_status", "status", "blocked", "actor", actor), nil); err != nil {
					return err
				}
			}
			if err := s.inheritCreatorOrigin(id, n.CreatorTaskID, now); err != nil {
				return err
			}
			return s.inheritNotifySubs(id, parents, &now)
		})
		if !errors.Is(err, sqlite3.CONSTRAINT) {
			break
		}
	}
	return id, err
}

// initialState is upstream's initial_task_state: blocked if asked, triage
// if asked, todo while any parent is not done, else ready. Parents must
// exist; the tenant is inherited from the first parent that has one.
func (s *Store) initialState(parents []string, initial string, triage bool, tenant *string) (string, *string, error) {
	missing, err := s.missingTaskIDs(parents)
	if err != nil {
		return "", nil, err
	}
	if len(missing) > 0 {
		return "", nil, invalid("unknown parent task(s): %s", strings.Join(missing, ", "))
	}
	anyOpen := false
	for _, p := range parents {
		var st string
		var pt *string
		err := sqlx.Query(s.conn, "SELECT status, tenant FROM tasks WHERE id = ?", []any{p}, func(r *sqlx.Row) error {
			st, pt = r.Text("status"), r.NullText("tenant")
			return nil
		})
		if err != nil {
			return "", nil, err
		}
		if st != "done" {
			anyOpen = true
		}
		if tenant == nil && pt != nil && *pt != "" {
			tenant = pt
		}
	}
	switch {
	case initial == "blocked":
		return "blocked", tenant, nil
	case triage:
		return "triage", tenant, nil
	case anyOpen:
		return "todo", tenant, nil
	}
	return "ready", tenant, nil
}

// inheritCreatorOrigin gives a task created from inside a worker its
// creator's session and notify subscriptions, so the originating channel
// hears about it even without a dependency edge.
func (s *Store) inheritCreatorOrigin(id string, creator *string, now int64) error {
	if creator == nil || *creator == "" || *creator == id {
		return nil
	}
	if _, err := sqlx.Exec(s.conn, `UPDATE tasks SET session_id = (SELECT session_id FROM tasks WHERE id = ?)
		WHERE id = ? AND session_id IS NULL`, *creator, id); err != nil {
		return err
	}
	return s.inheritNotifySubs(id, []string{*creator}, &now)
}

func parentsList(p []string) []any {
	out := make([]any, len(p))
	for i, x := range p {
		out[i] = x
	}
	return out
}

func trimNil(s *string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	if t == "" {
		return nil
	}
	return &t
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
