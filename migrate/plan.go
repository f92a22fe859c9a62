package migrate

import (
	"context"
	"fmt"
	"strings"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// Step is one numbered step of the migration pass with the exact statements
// it would run, in order. Numbers follow upstream's pass (0 is SCHEMA_SQL).
type Step struct {
	N          string   `json:"step"`
	Name       string   `json:"name"`
	Statements []string `json:"statements"`
}

// Options tunes planning.
type Options struct {
	// Full also runs the data checks that need a table scan (legacy event
	// kinds). kanban-migrate always sets it; a plain open sets it only when
	// the schema itself is out of date, since only old boards carry them.
	Full bool
	// Now is the epoch second used for synthesized runs.
	Now int64
}

// planner simulates the schema as statements are planned, so later steps
// see the columns earlier steps add. Columns are kept in physical order
// because the drifted-table rebuild copies them in that order.
type planner struct {
	insp    *Inspection
	cols    map[string][]string
	indexes map[string]bool
	steps   []Step
}

func newPlanner(insp *Inspection) *planner {
	p := &planner{insp: insp, cols: map[string][]string{}, indexes: map[string]bool{}}
	for t, cs := range insp.Tables {
		names := make([]string, len(cs))
		for i, c := range cs {
			names[i] = c.Name
		}
		p.cols[t] = names
	}
	for name := range insp.Indexes {
		p.indexes[name] = true
	}
	return p
}

func (p *planner) has(t, col string) bool {
	for _, c := range p.cols[t] {
		if strings.EqualFold(c, col) {
			return true
		}
	}
	return false
}

func (p *planner) hasTable(t string) bool { _, ok := p.cols[t]; return ok }

func (p *planner) addStep(n, name string, stmts []string) {
	if len(stmts) > 0 {
		p.steps = append(p.steps, Step{N: n, Name: name, Statements: stmts})
	}
}

func (p *planner) createTables(ddls []string) []string {
	var out []string
	for _, ddl := range ddls {
		t := tableNameOf(ddl)
		if p.hasTable(t) {
			continue
		}
		out = append(out, ddl)
		var names []string
		for _, c := range canonicalColumns(t) {
			if c.name != "completion_contract" {
				names = append(names, c.name)
			}
		}
		p.cols[t] = names
	}
	return out
}

func (p *planner) addColumns(cols []column) (stmts []string, added map[string]bool) {
	added = map[string]bool{}
	for _, c := range cols {
		if !p.hasTable(c.table) || p.has(c.table, c.name) {
			continue
		}
		stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s", c.table, c.def))
		p.cols[c.table] = append(p.cols[c.table], c.name)
		added[c.name] = true
	}
	return stmts, added
}

// createIndexes plans the indexes that are missing and whose columns all
// exist; the others wait for a later step (upstream #28464: an index over a
// column that is not there yet aborts the whole pass).
func (p *planner) createIndexes(ixs []index) []string {
	var out []string
	for _, ix := range ixs {
		if p.indexes[ix.name] || !p.hasTable(ix.table) {
			continue
		}
		ready := true
		for _, c := range ix.cols {
			ready = ready && p.has(ix.table, c)
		}
		if ready {
			out = append(out, ix.sql)
			p.indexes[ix.name] = true
		}
	}
	return out
}

// fillBaseColumns adds canonical columns that upstream's lists do not name
// but a reduced or hand-seeded board lacks (upstream #113100), when they can
// be added without a default for existing rows. Columns a later upstream
// step adds (task_events.run_id, the notify columns) are left to that step,
// which adds them in upstream's order and runs its backfill.
func (p *planner) fillBaseColumns() []string {
	var out []string
	for _, t := range CoreTables {
		if !p.hasTable(t) {
			continue
		}
		for _, c := range canonicalColumns(t) {
			if c.addable && !p.has(t, c.name) && !namedByUpstream(t, c.name) {
				out = append(out, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s", t, c.def))
				p.cols[t] = append(p.cols[t], c.name)
			}
		}
	}
	return out
}

// namedByUpstream reports whether one of upstream's column lists adds
// column name to table t.
func namedByUpstream(t, name string) bool {
	for _, group := range [][]column{tasksEarlyColumns, tasksRenamedColumns, tasksLateColumns, eventsColumns, notifyColumns} {
		for _, c := range group {
			if c.table == t && strings.EqualFold(c.name, name) {
				return true
			}
		}
	}
	return false
}

// Plan returns the steps still pending on the board open in c, without
// changing anything.
func Plan(ctx context.Context, c *sqlite3.Conn, opts Options) ([]Step, error) {
	insp, err := Inspect(ctx, c)
	if err != nil {
		return nil, err
	}
	return planFrom(c, insp, opts)
}

func planFrom(c *sqlite3.Conn, insp *Inspection, opts Options) ([]Step, error) {
	p := newPlanner(insp)
	tables := p.createTables(baseTables)
	p.addStep("0", "create missing tables and base indexes", append(tables, p.createIndexes(baseIndexes)...))
	p.addStep("1", "create recipe tables", p.createTables(recipeTables))

	early, _ := p.addColumns(tasksEarlyColumns)
	p.addStep("2", "add early tasks columns", early)
	p.addStep("3", "add renamed tasks columns and copy legacy values", p.renamedColumns())

	late, _ := p.addColumns(tasksLateColumns)
	p.addStep("4", "add later tasks columns", late)
	p.addStep("4b", "add base columns missing from a reduced schema", p.fillBaseColumns())
	p.addStep("5", "create indexes over added tasks columns",
		p.createIndexes(append(append([]index{}, baseIndexes...), lateIndexes[:3]...)))

	ev, _ := p.addColumns(eventsColumns)
	p.addStep("6", "add task_events.run_id and its index", append(ev, p.createIndexes(lateIndexes[3:])...))

	notify, nadded := p.addColumns(notifyColumns)
	if nadded["delivery_mode"] {
		notify = append(notify, "UPDATE kanban_notify_subs SET delivery_mode = 'notify+wake' WHERE platform != 'tui'")
	}
	p.addStep("7", "add notify subscription columns", notify)

	schemaPending := len(p.steps) > 0
	dangling, err := p.danglingRuns(c, insp)
	if err != nil {
		return nil, err
	}
	p.addStep("8", "synthesize runs for running tasks without one", dangling.statements(opts.Now))

	if opts.Full || schemaPending {
		renames, err := p.legacyKinds(c, insp)
		if err != nil {
			return nil, err
		}
		p.addStep("9", "rename legacy event kinds", renames)
	}
	p.addStep("10", "rebuild drifted tables", p.rebuildStatements())
	return p.steps, nil
}

// renamedColumns adds the successors of the legacy spawn_* columns and
// copies the old values into them, only when this pass adds the new
// column (upstream #20842: never RENAME, never drop). The copy is one
// pass that rewrites only the rows whose old values differ from the new
// columns' defaults (0 and NULL): the board ends up as upstream's copy of
// every row leaves it, without a big board rewritten twice over when, as
// usual, few tasks ever failed to spawn.
func (p *planner) renamedColumns() []string {
	stmts, added := p.addColumns(tasksRenamedColumns)
	var sets, where []string
	if added["consecutive_failures"] && p.has("tasks", "spawn_failures") {
		sets = append(sets, "consecutive_failures = COALESCE(spawn_failures, 0)")
		where = append(where, "COALESCE(spawn_failures, 0) != 0")
	}
	if added["last_failure_error"] && p.has("tasks", "last_spawn_error") {
		sets = append(sets, "last_failure_error = last_spawn_error")
		where = append(where, "last_spawn_error IS NOT NULL")
	}
	if len(sets) > 0 {
		stmts = append(stmts, "UPDATE tasks SET "+strings.Join(sets, ", ")+" WHERE "+strings.Join(where, " OR "))
	}
	return stmts
}

type danglingRuns bool

// statements insert one running run per running task that has none, in
// the tasks' rowid order (the order upstream's loop visits them), with
// started_at falling back to now when the task's is NULL, 0 or empty (Python's
// `started_at or now`), then point each task at its new run. MAX(rowid) is
// the row just inserted for that task, which is what upstream's lastrowid
// is, even on a legacy task_runs whose id is not the rowid.
//
// The update joins the tasks to one grouped pass over the running runs.
// Asked per task instead (a correlated subquery), SQLite walked the
// status index's every running run for each task: 12,500 running tasks
// without runs took over half a minute on a board's first open.
func (d danglingRuns) statements(now int64) []string {
	if !d {
		return nil
	}
	return []string{
		fmt.Sprintf(`INSERT INTO task_runs (task_id, profile, status, claim_lock, claim_expires, worker_pid, max_runtime_seconds, last_heartbeat_at, started_at) SELECT id, assignee, 'running', claim_lock, claim_expires, worker_pid, max_runtime_seconds, last_heartbeat_at, COALESCE(NULLIF(NULLIF(started_at, 0), ''), %d) FROM tasks WHERE status = 'running' AND current_run_id IS NULL ORDER BY rowid`, now),
		`UPDATE tasks SET current_run_id = r.run FROM (SELECT task_id, MAX(rowid) AS run FROM task_runs WHERE status = 'running' GROUP BY task_id) AS r WHERE r.task_id = tasks.id AND tasks.status = 'running' AND tasks.current_run_id IS NULL`,
	}
}

// danglingRuns reports whether some running task has no current run. On a
// board that lacks the current_run_id column every running task counts.
func (p *planner) danglingRuns(c *sqlite3.Conn, insp *Inspection) (danglingRuns, error) {
	if !insp.HasTable("tasks") || !insp.HasColumn("tasks", "status") {
		return false, nil
	}
	q := `SELECT 1 FROM tasks WHERE status = 'running' AND current_run_id IS NULL LIMIT 1`
	if !insp.HasColumn("tasks", "current_run_id") {
		q = `SELECT 1 FROM tasks WHERE status = 'running' LIMIT 1`
	}
	_, found, err := sqlx.QueryInt(c, q)
	if err != nil {
		return false, fmt.Errorf("check running tasks: %w", err)
	}
	return danglingRuns(found), nil
}

func (p *planner) legacyKinds(c *sqlite3.Conn, insp *Inspection) ([]string, error) {
	if !insp.HasTable("task_events") || !insp.HasColumn("task_events", "kind") {
		return nil, nil
	}
	var out []string
	for _, r := range eventRenames {
		_, found, err := sqlx.QueryInt(c, `SELECT 1 FROM task_events WHERE kind = ? LIMIT 1`, r[0])
		if err != nil {
			return nil, fmt.Errorf("check event kinds: %w", err)
		}
		if found {
			out = append(out, fmt.Sprintf("UPDATE task_events SET kind = '%s' WHERE kind = '%s'", r[1], r[0]))
		}
	}
	return out, nil
}

// rebuildStatements renames each drifted table aside, recreates it from the
// canonical DDL, copies the columns both share in the legacy table's order
// (dropping legacy ids so AUTOINCREMENT assigns new ones, casting the notify
// cursor to INTEGER), drops the old table and recreates its indexes, as
// upstream does. One deliberate difference: a column the canonical table
// lacks (a fork's, or the user's own) is added to the new table and copied
// instead of being dropped with the old one; we never drop a column.
func (p *planner) rebuildStatements() []string {
	var out []string
	for _, t := range p.insp.Drifted() {
		spec := rebuildSpecs[t]
		out = append(out, fmt.Sprintf("ALTER TABLE %s RENAME TO %s_legacy", t, t), spec.ddl)
		drop := "id"
		if t == "kanban_notify_subs" {
			drop = "last_event_id"
		}
		var cols []string
		for _, name := range p.cols[t] {
			if strings.EqualFold(name, drop) {
				continue
			}
			if isCanonical(t, name) {
				cols = append(cols, name)
				continue
			}
			out = append(out, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s", t, extraColumnDef(name, p.insp.columnType(t, name))))
			cols = append(cols, sqlx.QuoteIdent(name))
		}
		ins, sel := strings.Join(cols, ", "), strings.Join(cols, ", ")
		if drop == "last_event_id" {
			ins += ", last_event_id"
			sel += ", COALESCE(CAST(last_event_id AS INTEGER), 0)"
		}
		out = append(out,
			fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s_legacy", t, ins, sel, t),
			fmt.Sprintf("DROP TABLE %s_legacy", t),
		)
		out = append(out, spec.indexes...)
	}
	return out
}

// isCanonical reports whether table t of the current schema has the column.
func isCanonical(t, name string) bool {
	for _, c := range canonicalColumns(t) {
		if strings.EqualFold(c.name, name) {
			return true
		}
	}
	return false
}

// extraColumnDef declares a kept foreign column with its declared type
// only: constraints such as NOT NULL without a default cannot be added by
// ALTER TABLE, and the copied values already satisfy the old ones.
func extraColumnDef(name, typ string) string {
	if typ == "" {
		return sqlx.QuoteIdent(name)
	}
	return sqlx.QuoteIdent(name) + " " + typ
}
