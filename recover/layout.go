package recover

import (
	"context"
	"strings"
	"sync"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/migrate"
)

// A table whose schema row is lost gets the canonical columns, but the
// records on disk follow the board's physical column order, which is the
// canonical one only for boards created recently. A board created with the
// early-May-2026 schema and migrated since has its original columns first
// and every later column ALTER-appended in the migration's order (and
// keeps its legacy spawn_failures and last_spawn_error). Re-homing tries
// that order too, and rearranges the rows it fits into canonical order.

// earlyMaySchema is the part of the early-May-2026 schema (spec
// upstream-storage §2.3) whose column order differs from today's: tasks
// before branch_name, project_id and the renamed failure columns, and the
// seven-column kanban_notify_subs. The other tables had today's DDL.
var earlyMaySchema = []string{
	`CREATE TABLE tasks (id TEXT PRIMARY KEY, title TEXT NOT NULL, body TEXT, assignee TEXT,
		status TEXT NOT NULL, priority INTEGER DEFAULT 0, created_by TEXT, created_at INTEGER NOT NULL,
		started_at INTEGER, completed_at INTEGER, workspace_kind TEXT NOT NULL DEFAULT 'scratch',
		workspace_path TEXT, claim_lock TEXT, claim_expires INTEGER, tenant TEXT, result TEXT,
		idempotency_key TEXT, spawn_failures INTEGER NOT NULL DEFAULT 0, worker_pid INTEGER,
		last_spawn_error TEXT, max_runtime_seconds INTEGER, last_heartbeat_at INTEGER,
		current_run_id INTEGER, workflow_template_id TEXT, current_step_key TEXT, skills TEXT)`,
	`CREATE TABLE kanban_notify_subs (task_id TEXT NOT NULL, platform TEXT NOT NULL, chat_id TEXT NOT NULL,
		thread_id TEXT NOT NULL DEFAULT '', user_id TEXT, created_at INTEGER NOT NULL,
		last_event_id INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (task_id, platform, chat_id, thread_id))`,
}

var legacy struct {
	once sync.Once
	cols map[string][]migrate.ColumnInfo
}

// legacyLayout is the physical column order migrate's steps leave on an
// early-May board for table, built once in memory; nil when the table had
// today's order or the layout cannot be built.
func legacyLayout(ctx context.Context, table string) []migrate.ColumnInfo {
	legacy.once.Do(func() {
		c, err := sqlite3.Open(":memory:")
		if err != nil {
			return
		}
		defer c.Close()
		for _, ddl := range earlyMaySchema {
			if err := c.Exec(ddl); err != nil {
				return
			}
		}
		if _, err := migrate.Apply(ctx, c, migrate.Options{}); err != nil {
			return
		}
		insp, err := migrate.Inspect(ctx, c)
		if err != nil {
			return
		}
		legacy.cols = insp.Tables
	})
	if strings.EqualFold(table, "tasks") || strings.EqualFold(table, "kanban_notify_subs") {
		return legacy.cols[table]
	}
	return nil
}

// addLayout lets t's records also be read in the physical order info: the
// columns t lacks are appended to t.Columns, and the layout (field i goes
// to column layout[i]) is kept unless it is t's own order. Records read in
// t's own order may not use the appended columns.
func (t *TableData) addLayout(info []migrate.ColumnInfo) {
	if len(info) == 0 {
		return
	}
	if t.width == 0 {
		t.width = len(t.Columns)
	}
	layout := make([]int, len(info))
	identity := true
	for i, c := range info {
		j := t.columnIndex(c.Name)
		if j < 0 {
			t.Columns = append(t.Columns, fromInfo(info[i:i+1])...)
			j = len(t.Columns) - 1
		}
		layout[i] = j
		identity = identity && j == i
	}
	if !identity {
		t.layouts = append(t.layouts, layout)
	}
	t.finish()
}

func (t *TableData) columnIndex(name string) int {
	for j, c := range t.Columns {
		if strings.EqualFold(c.Name, name) {
			return j
		}
	}
	return -1
}

// bestFit scores vals against t's own column order and each extra layout,
// returning the best score and the layout it came from (-1: t's own).
func (t *TableData) bestFit(vals []Value, all []*TableData) (score, layout int, ok bool) {
	layout = -1
	score, ok = t.fit(vals, all, nil)
	for i, l := range t.layouts {
		if s, lok := t.fit(vals, all, l); lok && (!ok || s > score) {
			score, layout, ok = s, i, true
		}
	}
	return score, layout, ok
}

// arrange rewrites a row read in layout into t's column order; columns
// the record did not carry get their DEFAULT, as SQLite would read them.
func (t *TableData) arrange(r Row, layout int) Row {
	if layout < 0 {
		return r
	}
	l := t.layouts[layout]
	vals := make([]Value, len(t.Columns))
	set := make([]bool, len(t.Columns))
	for i, v := range r.Values {
		vals[l[i]], set[l[i]] = v, true
	}
	for j := range vals {
		if !set[j] {
			vals[j] = defaultAsValue(t.Columns[j])
		}
	}
	r.Values = vals
	return r
}

// defaultAsValue is a column's literal DEFAULT as a Value (NULL if none).
func defaultAsValue(c Column) Value {
	switch v := defaultValue(c).(type) {
	case int64:
		return Value{Kind: Integer, Int: v}
	case float64:
		return Value{Kind: Float, Real: v}
	case string:
		return Value{Kind: Text, Raw: []byte(v)}
	}
	return Value{}
}
