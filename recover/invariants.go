package recover

import (
	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/migrate"
)

// invariant is one board rule, as a query returning the offending keys.
type invariant struct {
	needs  [][2]string // table, column pairs the query uses
	query  string
	detail string
}

// maxInvariantRows caps the violations reported per rule.
const maxInvariantRows = 20

var invariants = []invariant{
	{
		needs: [][2]string{{"tasks", "claim_lock"}, {"tasks", "current_run_id"}, {"task_runs", "ended_at"}},
		query: `SELECT id FROM tasks WHERE status = 'running' AND (claim_lock IS NULL OR current_run_id IS NULL
			OR NOT EXISTS (SELECT 1 FROM task_runs r WHERE r.id = tasks.current_run_id AND r.ended_at IS NULL)) LIMIT 20`,
		detail: "running task %s has no claim or no open current run",
	},
	{
		needs: [][2]string{{"tasks", "current_run_id"}, {"task_runs", "task_id"}},
		query: `SELECT id FROM tasks WHERE current_run_id IS NOT NULL
			AND NOT EXISTS (SELECT 1 FROM task_runs r WHERE r.id = tasks.current_run_id AND r.task_id = tasks.id) LIMIT 20`,
		detail: "task %s: current_run_id points at no run of this task",
	},
	{
		needs: [][2]string{{"task_links", "parent_id"}, {"task_links", "child_id"}},
		query: `SELECT parent_id || ' -> ' || child_id FROM task_links
			WHERE parent_id NOT IN (SELECT id FROM tasks) OR child_id NOT IN (SELECT id FROM tasks) LIMIT 20`,
		detail: "link %s points at a missing task",
	},
}

// invariants checks the board rules the schema cannot express. Rules whose
// columns the board lacks are skipped (the schema check reports those).
func (r *CheckReport) invariants(c *sqlite3.Conn, insp *migrate.Inspection) error {
	for _, inv := range invariants {
		if !hasAll(insp, inv.needs) {
			continue
		}
		keys, err := sqlx.QueryStrings(c, inv.query)
		if err != nil {
			return r.sqliteErr("invariants", err)
		}
		for _, k := range keys {
			r.problem(KindInvariant, inv.detail, k)
		}
	}
	return nil
}

func hasAll(insp *migrate.Inspection, needs [][2]string) bool {
	for _, n := range needs {
		if !insp.HasColumn(n[0], n[1]) {
			return false
		}
	}
	return true
}
