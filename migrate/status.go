package migrate

import (
	"context"
	"sort"
	"strings"

	"github.com/ncruces/go-sqlite3"
)

// Schema generations a board can be at, oldest first. Upstream keeps no
// schema version, so the generation is worked out from the tables and
// columns present (generationOf).
const (
	GenEmpty        = "empty"          // no tables at all
	GenForeign      = "foreign"        // tables, but no tasks table
	GenPreRuns      = "pre-runs"       // before task_runs / tasks.current_run_id
	GenEarlyMay2026 = "early-may-2026" // pre-boards monolith: spawn_failures, no consecutive_failures
	GenMay2026      = "may-2026"       // consecutive_failures, before task_attachments
	GenPreCurrent   = "pre-current"    // task_attachments, later additions missing
	GenCurrent      = "current"        // nothing missing
)

var genDescriptions = map[string]string{
	GenEmpty:        "no tables: not a board yet; kanban initialises it on first use",
	GenForeign:      "has tables but no tasks table: not a kanban board (or a damaged schema)",
	GenPreRuns:      "before task runs: no task_runs table or tasks.current_run_id",
	GenEarlyMay2026: "early May 2026, before named boards: tasks.spawn_failures/last_spawn_error, no consecutive_failures, no task_attachments",
	GenMay2026:      "May 2026: consecutive_failures (upstream #20855) and named boards, before task_attachments (upstream #35338)",
	GenPreCurrent:   "has task_attachments; later columns, recipe tables or indexes are missing",
	GenCurrent:      "the current upstream schema",
}

// Describe returns the one-line description of a generation.
func Describe(gen string) string { return genDescriptions[gen] }

// ForeignColumn is a column the current schema does not have. It is kept
// (never dropped) and reported.
type ForeignColumn struct {
	Table  string `json:"table"`
	Column string `json:"column"`
	Type   string `json:"type"`
	Origin string `json:"origin"`
}

// Status is what kanban-migrate status reports about a board.
type Status struct {
	Generation     string          `json:"generation"`
	Description    string          `json:"description"`
	JournalMode    string          `json:"journal_mode"`
	Pending        []Step          `json:"pending_steps"`
	ForeignColumns []ForeignColumn `json:"foreign_columns"`
	ForeignTables  []string        `json:"foreign_tables"`
	DriftedTables  []string        `json:"drifted_tables"`
	MissingBase    []string        `json:"missing_base_columns"`
	Differences    []Drift         `json:"column_differences"`
}

// Examine reports the generation, pending steps, journal mode, foreign
// columns and tables, drifted tables and column differences of the board
// open in c, changing nothing.
func Examine(ctx context.Context, c *sqlite3.Conn, now int64) (*Status, error) {
	mode, err := JournalMode(c)
	if err != nil {
		return nil, err
	}
	insp, err := Inspect(ctx, c)
	if err != nil {
		return nil, err
	}
	st := &Status{JournalMode: mode, Pending: []Step{}, ForeignColumns: []ForeignColumn{},
		ForeignTables: []string{}, DriftedTables: []string{}, MissingBase: []string{}, Differences: []Drift{}}
	if insp.HasTable("tasks") {
		if st.Pending, err = planFrom(c, insp, Options{Full: true, Now: now}); err != nil {
			return nil, err
		}
		if st.Pending == nil {
			st.Pending = []Step{}
		}
	}
	ds, err := Conformity(ctx, insp)
	if err != nil {
		return nil, err
	}
	st.fill(insp, ds)
	st.Generation = generationOf(insp, len(MigrationFaults(ds)) > 0)
	st.Description = Describe(st.Generation)
	return st, nil
}

func (st *Status) fill(insp *Inspection, ds []Drift) {
	for _, d := range ds {
		switch d.Kind {
		case "extra_column":
			c, _ := insp.Column(d.Table, d.Column)
			st.ForeignColumns = append(st.ForeignColumns, ForeignColumn{Table: d.Table, Column: d.Column, Type: c.Type, Origin: originOf(d.Table, d.Column)})
		case "column_mismatch":
			if !driftedColumn(insp, d) {
				st.Differences = append(st.Differences, d)
			}
		}
	}
	st.DriftedTables = append(st.DriftedTables, insp.Drifted()...)
	st.ForeignTables = append(st.ForeignTables, foreignTables(insp)...)
	st.MissingBase = append(st.MissingBase, missingBase(insp)...)
}

// driftedColumn reports whether d is the column that makes its table
// drifted (reported as a drifted table, fixed by the rebuild).
func driftedColumn(insp *Inspection, d Drift) bool {
	for _, t := range insp.Drifted() {
		if t == d.Table && (d.Column == "id" || (t == "kanban_notify_subs" && d.Column == "last_event_id")) {
			return true
		}
	}
	return false
}

// generationOf places a board on the timeline by the newest feature it
// has; a board lacking only what a later pass adds is "pre-current".
func generationOf(insp *Inspection, faults bool) string {
	switch {
	case len(insp.Tables) == 0:
		return GenEmpty
	case !insp.HasTable("tasks"):
		return GenForeign
	case !faults:
		return GenCurrent
	case !insp.HasTable("task_runs") || !insp.HasColumn("tasks", "current_run_id"):
		return GenPreRuns
	case !insp.HasColumn("tasks", "consecutive_failures"):
		return GenEarlyMay2026
	case !insp.HasTable("task_attachments"):
		return GenMay2026
	}
	return GenPreCurrent
}

// originOf says where a foreign column comes from, when we know.
func originOf(table, col string) string {
	switch lc := strings.ToLower(col); {
	case table == "tasks" && lc == "spawn_failures":
		return "legacy (before May 2026); copied into consecutive_failures, kept"
	case table == "tasks" && lc == "last_spawn_error":
		return "legacy (before May 2026); copied into last_failure_error, kept"
	case lc == "worker_started_at":
		return "newer fork (process fingerprint)"
	case table == "task_runs" && (strings.Contains(lc, "token") || strings.Contains(lc, "cost") || strings.Contains(lc, "usage")):
		return "fork (usage/cost accounting)"
	}
	return "unknown; kept as it is"
}

// foreignTables lists tables that are neither ours nor SQLite's own.
func foreignTables(insp *Inspection) []string {
	var out []string
	for t := range insp.Tables {
		if !isCoreTable(t) && !strings.HasPrefix(t, "sqlite_") {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

func isCoreTable(t string) bool {
	for _, c := range CoreTables {
		if c == t {
			return true
		}
	}
	return false
}

// missingBase lists tasks columns of upstream's base schema that no
// upstream migration step adds, i.e. a board seeded with a reduced schema
// (upstream #113100); step 4b adds them.
func missingBase(insp *Inspection) []string {
	if !insp.HasTable("tasks") {
		return nil
	}
	var out []string
	for _, c := range canonicalColumns("tasks") {
		if !namedByUpstream("tasks", c.name) && !insp.HasColumn("tasks", c.name) {
			out = append(out, c.name)
		}
	}
	return out
}
