package store

import (
	"sort"
	"strings"

	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// SortOrders are the `list --sort` keys and their SQL.
var SortOrders = map[string]string{
	"created":       "created_at ASC, id ASC",
	"created-desc":  "created_at DESC, id DESC",
	"priority":      "priority DESC, created_at ASC",
	"priority-desc": "priority ASC, created_at ASC",
	"status":        "status ASC, created_at ASC",
	"assignee":      "assignee ASC, created_at ASC",
	"title":         "title ASC, id ASC",
	"updated":       "started_at DESC NULLS LAST, created_at DESC",
}

// SortKeys lists SortOrders' keys sorted.
func SortKeys() []string {
	var k []string
	for key := range SortOrders {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

// ValidStatuses are upstream's task statuses.
var ValidStatuses = []string{"archived", "blocked", "done", "ready", "review", "running", "scheduled", "todo", "triage"}

// ListFilter selects tasks for ListTasks.
type ListFilter struct {
	Assignee, Status, Tenant, SessionID, WorkflowTemplateID, CurrentStepKey *string
	IncludeArchived                                                         bool
	OrderBy                                                                 string
	Limit                                                                   int
}

// ListTasks returns tasks matching f, archived ones only on request.
func (s *Store) ListTasks(f ListFilter) ([]*Task, error) {
	var out []*Task
	err := s.EachTask(f, func(t *Task) error {
		out = append(out, t)
		return nil
	})
	return out, err
}

// EachTask calls fn with each task matching f, in ListTasks' order, as
// SQLite returns them, so a board of any size is listed in the memory of
// one row. It stops at fn's first error and returns it. fn runs inside
// the query's read transaction: it must not use the store.
func (s *Store) EachTask(f ListFilter, fn func(*Task) error) error {
	q, args, err := listQuery(f)
	if err != nil {
		return err
	}
	var sc *taskScanner
	err = sqlx.Query(s.conn, q, args, func(r *sqlx.Row) error {
		if sc == nil {
			sc = newTaskScanner(r)
		}
		return fn(sc.scan(r))
	})
	return s.classify(err)
}

// listQuery is the SELECT for f.
func listQuery(f ListFilter) (string, []any, error) {
	if f.Status != nil && !contains(ValidStatuses, *f.Status) {
		return "", nil, invalid("status must be one of %s", pyList(ValidStatuses))
	}
	q := "SELECT * FROM tasks WHERE 1=1"
	var args []any
	if f.Assignee != nil {
		a := strings.ToLower(strings.TrimSpace(*f.Assignee))
		f.Assignee = &a
	}
	for _, c := range []struct {
		col string
		v   *string
	}{{"assignee", f.Assignee}, {"status", f.Status}, {"tenant", f.Tenant}, {"session_id", f.SessionID},
		{"workflow_template_id", f.WorkflowTemplateID}, {"current_step_key", f.CurrentStepKey}} {
		if c.v != nil {
			q += " AND " + c.col + " = ?"
			args = append(args, *c.v)
		}
	}
	if !f.IncludeArchived && (f.Status == nil || *f.Status != "archived") {
		q += " AND status != 'archived'"
	}
	order := SortOrders["priority"]
	if f.OrderBy != "" {
		o, ok := SortOrders[strings.ToLower(strings.TrimSpace(f.OrderBy))]
		if !ok {
			return "", nil, invalid("order_by must be one of %s", pyList(SortKeys()))
		}
		order = o
	}
	q += " ORDER BY " + order
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	return q, args, nil
}

// pyList renders a sorted Python list of strings: ['a', 'b'].
func pyList(items []string) string {
	q := make([]string, len(items))
	for i, it := range items {
		q[i] = "'" + it + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}
