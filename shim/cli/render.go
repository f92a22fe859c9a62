package cli

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

var statusIcons = map[string]string{
	"todo": "◻", "ready": "▶", "running": "●", "scheduled": "⏱", "blocked": "⊘", "done": "✓", "archived": "—",
}

// appendTaskLine appends one `list` line and its newline to b:
// "icon id  status    assignee            [tenant]  title", the columns
// padded in characters as Python's "{:8s}" does.
func appendTaskLine(b []byte, t *store.Task) []byte {
	icon, ok := statusIcons[t.Status]
	if !ok {
		icon = "?"
	}
	assignee := "(unassigned)"
	if t.Assignee != nil && *t.Assignee != "" {
		assignee = *t.Assignee
	}
	b = append(append(append(b, icon...), ' '), t.ID...)
	b = appendPadded(append(b, "  "...), t.Status, 8)
	b = appendPadded(append(b, "  "...), assignee, 20)
	if t.Tenant != nil && *t.Tenant != "" {
		b = append(append(append(b, " ["...), *t.Tenant...), ']')
	}
	b = append(append(b, "  "...), t.Title...)
	return append(b, '\n')
}

// appendPadded appends s padded with spaces to width characters.
func appendPadded(b []byte, s string, width int) []byte {
	b = append(b, s...)
	for n := utf8.RuneCountInString(s); n < width; n++ {
		b = append(b, ' ')
	}
	return b
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
func taskObject(t *store.Task) py.Object { return appendTaskObject(nil, t) }

// appendTaskObject appends taskObject's members to o; a long list reuses
// one Object. Strings go in by pointer, which makes no copy for the
// interface.
func appendTaskObject(o py.Object, t *store.Task) py.Object {
	var skills any = t.Skills
	if t.Skills == nil {
		skills = []string{}
	}
	return append(o,
		py.Member{Key: "id", Value: &t.ID}, py.Member{Key: "title", Value: &t.Title},
		py.Member{Key: "body", Value: t.Body}, py.Member{Key: "assignee", Value: t.Assignee},
		py.Member{Key: "status", Value: &t.Status}, py.Member{Key: "priority", Value: t.Priority},
		py.Member{Key: "tenant", Value: t.Tenant}, py.Member{Key: "workspace_kind", Value: &t.WorkspaceKind},
		py.Member{Key: "workspace_path", Value: t.WorkspacePath}, py.Member{Key: "branch_name", Value: t.BranchName},
		py.Member{Key: "project_id", Value: t.ProjectID}, py.Member{Key: "created_by", Value: t.CreatedBy},
		py.Member{Key: "created_at", Value: t.CreatedAt}, py.Member{Key: "started_at", Value: t.StartedAt},
		py.Member{Key: "completed_at", Value: t.CompletedAt}, py.Member{Key: "result", Value: t.Result},
		py.Member{Key: "skills", Value: skills},
		py.Member{Key: "max_runtime_seconds", Value: t.MaxRuntimeSeconds}, py.Member{Key: "max_retries", Value: t.MaxRetries},
		py.Member{Key: "model_override", Value: t.ModelOverride}, py.Member{Key: "provider_override", Value: t.ProviderOverride},
		py.Member{Key: "session_id", Value: t.SessionID}, py.Member{Key: "workflow_template_id", Value: t.WorkflowTemplateID},
		py.Member{Key: "current_step_key", Value: t.CurrentStepKey}, py.Member{Key: "workflow_role", Value: t.WorkflowRole},
		py.Member{Key: "completion_contract", Value: t.CompletionContract},
		py.Member{Key: "last_failure_error", Value: t.LastFailureError},
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
