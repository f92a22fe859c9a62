package cli

import (
	"bufio"
	"fmt"
	"strings"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

var statusIcons = map[string]string{
	"todo": "◻", "ready": "▶", "running": "●", "scheduled": "⏱", "blocked": "⊘", "done": "✓", "archived": "—",
}

// fmtTaskLine is one `list` line.
func fmtTaskLine(t *store.Task) string {
	icon, ok := statusIcons[t.Status]
	if !ok {
		icon = "?"
	}
	assignee := "(unassigned)"
	if t.Assignee != nil && *t.Assignee != "" {
		assignee = *t.Assignee
	}
	tenant := ""
	if t.Tenant != nil && *t.Tenant != "" {
		tenant = " [" + *t.Tenant + "]"
	}
	return fmt.Sprintf("%s %s  %s  %s%s  %s", icon, t.ID, padRight(t.Status, 8), padRight(assignee, 20), tenant, t.Title)
}

// padRight pads to width in characters, like Python's "{:Ns}".
func padRight(s string, width int) string {
	n := len([]rune(s))
	for ; n < width; n++ {
		s += " "
	}
	return s
}

// padLeft right-aligns, like "{:>Ns}".
func padLeft(s string, width int) string {
	for n := len([]rune(s)); n < width; n++ {
		s = " " + s
	}
	return s
}

// fmtTS is upstream's _fmt_ts: local "YYYY-MM-DD HH:MM", "" when unset.
func fmtTS(v any) string {
	var ts int64
	switch x := v.(type) {
	case int64:
		ts = x
	case *int64:
		if x == nil {
			return ""
		}
		ts = *x
	case float64:
		ts = int64(x)
	default:
		return ""
	}
	if ts == 0 {
		return ""
	}
	return time.Unix(ts, 0).Local().Format("2006-01-02 15:04")
}

// taskObject is upstream's _task_to_dict, fields in its order.
func taskObject(t *store.Task) py.Object {
	skills := []any{}
	for _, s := range t.Skills {
		skills = append(skills, s)
	}
	return py.Obj(
		"id", t.ID, "title", t.Title, "body", t.Body, "assignee", t.Assignee, "status", t.Status,
		"priority", t.Priority, "tenant", t.Tenant, "workspace_kind", t.WorkspaceKind,
		"workspace_path", t.WorkspacePath, "branch_name", t.BranchName, "project_id", t.ProjectID,
		"created_by", t.CreatedBy, "created_at", t.CreatedAt, "started_at", t.StartedAt,
		"completed_at", t.CompletedAt, "result", t.Result, "skills", skills,
		"max_runtime_seconds", t.MaxRuntimeSeconds, "max_retries", t.MaxRetries,
		"model_override", t.ModelOverride, "provider_override", t.ProviderOverride,
		"session_id", t.SessionID, "workflow_template_id", t.WorkflowTemplateID,
		"current_step_key", t.CurrentStepKey, "workflow_role", t.WorkflowRole,
		"completion_contract", t.CompletionContract, "last_failure_error", t.LastFailureError,
	)
}

// runObject renders a run with the given field order.
func runObject(r store.Run, fields []string) py.Object {
	all := map[string]any{
		"id": r.ID, "profile": r.Profile, "step_key": r.StepKey, "status": r.Status, "outcome": r.Outcome,
		"summary": r.Summary, "error": r.Error, "metadata": r.Metadata, "worker_pid": r.WorkerPID,
		"started_at": r.StartedAt, "ended_at": r.EndedAt,
	}
	o := make(py.Object, 0, len(fields))
	for _, f := range fields {
		o = append(o, py.Member{Key: f, Value: all[f]})
	}
	return o
}

var (
	showRunFields = []string{"id", "profile", "step_key", "status", "outcome", "summary", "error", "metadata", "worker_pid", "started_at", "ended_at"}
	runsRunFields = []string{"id", "profile", "status", "outcome", "started_at", "ended_at", "summary", "error", "metadata", "worker_pid", "step_key"}
)

// printJSON prints v as json.dumps(v, indent=2, ensure_ascii=ascii).
func (a *App) printJSON(v any, ascii bool) {
	fmt.Fprintln(a.Stdout, py.Dumps(v, 2, ascii))
}

// fmtCounts is "k=v, …" sorted by key, or empty.
func fmtCounts(o py.Object, empty string) string {
	keys := make([]string, 0, len(o))
	vals := map[string]any{}
	for _, m := range o {
		keys = append(keys, m.Key)
		vals[m.Key] = m.Value
	}
	sortStrings(keys)
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s=%v", k, vals[k])
	}
	if s == "" {
		return empty
	}
	return s
}

// strOr returns *s, or def when nil or empty (Python's `x or def`).
func strOr(s *string, def string) string {
	if s == nil || *s == "" {
		return def
	}
	return *s
}

// printJSONList prints items as json.dumps(items, indent=2) would, one
// item at a time through a buffer: a 10,000-task list never exists as one
// string. JSON strings hold no raw newlines, so indenting an item's lines
// by two spaces nests it exactly as the whole-list encoding does.
func (a *App) printJSONList(items []py.Object, ascii bool) error {
	w := bufio.NewWriterSize(a.Stdout, 64<<10)
	if len(items) == 0 {
		w.WriteString("[]\n")
		return w.Flush()
	}
	w.WriteString("[\n")
	for i, it := range items {
		if i > 0 {
			w.WriteString(",\n")
		}
		w.WriteString("  ")
		w.WriteString(strings.ReplaceAll(py.Dumps(it, 2, ascii), "\n", "\n  "))
	}
	w.WriteString("\n]\n")
	return w.Flush()
}
