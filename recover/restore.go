package recover

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/migrate"
)

// snapAlias is the schema name a snapshot is attached under while rows
// are restored from it.
const snapAlias = "snap"

// Restored is what a salvage brought back from a verified snapshot, apart
// from what it read off the damaged board's own pages.
type Restored struct {
	Snapshot string    `json:"snapshot"`
	TakenAt  time.Time `json:"taken_at"`
	// AgeSeconds is how old the snapshot was at the salvage.
	AgeSeconds int64 `json:"age_seconds"`
	// RowsRestored counts every row inserted from the snapshot: rows the
	// loss accounting named, and the rows of restored tasks the salvage
	// also lacked (their events, runs, comments, links, attachments,
	// subscriptions, recipe membership).
	RowsRestored int `json:"rows_restored"`
	// TasksRestored and TaskIDs are the tasks among them.
	TasksRestored int             `json:"tasks_restored"`
	TaskIDs       []string        `json:"task_ids"`
	Tables        []RestoredTable `json:"tables"`
	// Stale are restored rows the board changed after the snapshot: their
	// task has events newer than the snapshot's newest, so the restored
	// row is an older version of it.
	Stale []StaleRow `json:"stale"`
	// NotRestored are lost rows the snapshot holds but that were not put
	// back: a task archived after the snapshot (its events say so) would
	// otherwise come back alive.
	NotRestored []SkippedRow `json:"not_restored"`
	// NotInSnapshot counts lost rows (known by key) the snapshot does not
	// hold: written after it was taken. They stay lost.
	NotInSnapshot int `json:"not_in_snapshot"`

	keys map[string]map[string]bool // table → KeyText of every restored row
}

// Has reports whether the row of table with KeyText key was restored.
func (r *Restored) Has(table, key string) bool { return r != nil && r.keys[table][key] }

// RestoredTable is one table's part of Restored.
type RestoredTable struct {
	Table string `json:"table"`
	// Rows restored in all; Named of them the loss accounting listed, the
	// rest are rows of restored tasks.
	Rows  int `json:"rows"`
	Named int `json:"named"`
}

// StaleRow is a restored row the board changed after the snapshot.
type StaleRow struct {
	Table string `json:"table"`
	Key   string `json:"key"`
	// The newest event of the row's task on the board.
	LastEventID   int64     `json:"last_event_id"`
	LastEventKind string    `json:"last_event_kind"`
	LastEventAt   time.Time `json:"last_event_at"`
}

// SkippedRow is a lost row deliberately not restored.
type SkippedRow struct {
	Table  string `json:"table"`
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

// Headline is "33 tasks, 63 task_events rows" restored.
func (r *Restored) Headline() string {
	var parts []string
	for _, t := range r.Tables {
		if t.Table == "tasks" {
			parts = append(parts, plural(t.Rows, "task"))
		} else {
			parts = append(parts, fmt.Sprintf("%d %s rows", t.Rows, t.Table))
		}
	}
	if len(parts) == 0 {
		return "no rows"
	}
	return strings.Join(parts, ", ")
}

// Summary is one line: the snapshot, its age, what came back and what
// may be stale ("from snapshot kanban.db.snapshot-….db (taken …, 2h3m
// old): 33 tasks, …; 1 may be stale (…)").
func (r *Restored) Summary() string {
	s := fmt.Sprintf("from snapshot %s (taken %s, %s old): %s", filepath.Base(r.Snapshot),
		r.TakenAt.UTC().Format(time.RFC3339), Age(time.Duration(r.AgeSeconds)*time.Second), r.Headline())
	if n := len(r.Stale); n > 0 {
		keys := make([]string, 0, min(n, maxKeysText))
		for _, st := range r.Stale[:min(n, maxKeysText)] {
			keys = append(keys, st.Key)
		}
		more := ""
		if n > maxKeysText {
			more = fmt.Sprintf(" and %d more", n-maxKeysText)
		}
		s += fmt.Sprintf("; %d may be stale (changed after the snapshot: %s%s)", n, strings.Join(keys, ", "), more)
	}
	if n := len(r.NotRestored); n > 0 {
		s += fmt.Sprintf("; %d not restored (%s)", n, r.NotRestored[0].Reason)
	}
	if r.NotInSnapshot > 0 {
		s += fmt.Sprintf("; %d lost rows are newer than the snapshot", r.NotInSnapshot)
	}
	return s
}

// Age is a duration as people say it: "45s", "12m", "3h4m", "2d5h".
func Age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}

// snapshotSource is a verified snapshot chosen for a salvage.
type snapshotSource struct {
	path    string // the file attached (a private copy for a named one)
	named   string // what the user or the set called it
	takenAt time.Time
	scratch *scratch // the private copy, if one was made
}

func (s *snapshotSource) close() {
	if s != nil && s.scratch != nil {
		s.scratch.Close()
	}
}

// ErrSnapshotInvalid means a snapshot named with --snapshot is not a
// healthy kanban board.
var ErrSnapshotInvalid = errors.New("snapshot is not a healthy kanban board")

// pickSnapshot chooses the snapshot a salvage restores from in dir, the
// board's snapshot set: the newest that still passes quick_check. It
// returns nil and a note when there is none to use. (A snapshot named
// with --snapshot is opened up front instead: openNamedSnapshot.)
func pickSnapshot(dir, db string) (*snapshotSource, []string, error) {
	sets, err := board.Snapshot.List(dir, db)
	if err != nil {
		return nil, nil, fmt.Errorf("list snapshots: %w", err)
	}
	var notes []string
	for i := len(sets) - 1; i >= 0; i-- {
		if err := usable(sets[i].Path); err != nil {
			notes = append(notes, fmt.Sprintf("snapshot %s not used: %v", sets[i].Path, err))
			continue
		}
		return &snapshotSource{path: sets[i].Path, named: sets[i].Path, takenAt: sets[i].When}, notes, nil
	}
	return nil, append(notes, "no verified snapshot of this board to restore lost rows from (kanban-recover snapshot takes one)"), nil
}

// openNamedSnapshot opens the snapshot a user named (--snapshot): copied
// to a private scratch directory first, as anything outside the board's
// own snapshot set may be a live board, and checked to be a kanban board
// that passes quick_check. Anything else wraps ErrSnapshotInvalid.
func openNamedSnapshot(ctx context.Context, named string) (*snapshotSource, error) {
	fi, err := os.Stat(named)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrSnapshotInvalid, err)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrSnapshotInvalid, named)
	}
	sc, err := copyBoard(ctx, named)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSnapshotInvalid, named, err)
	}
	src := &snapshotSource{path: sc.DB, named: named, takenAt: takenAt(named), scratch: sc}
	if err := usable(src.path); err != nil {
		src.close()
		return nil, fmt.Errorf("%w: %s: %w", ErrSnapshotInvalid, named, err)
	}
	return src, nil
}

// CheckSnapshot checks a snapshot named with --snapshot before any work
// is done with it (auto checks it before it looks at the board): it is a
// regular file holding a kanban board that passes quick_check, else the
// error wraps ErrSnapshotInvalid. It reads a private copy.
func CheckSnapshot(ctx context.Context, path string) error {
	src, err := openNamedSnapshot(ctx, path)
	src.close()
	return err
}

// ErrNoSnapshot means a board has no snapshot to compare or restore from.
var ErrNoSnapshot = errors.New("no snapshot")

// LatestSnapshot returns the newest snapshot of the database db in dir
// and when it was taken; ErrNoSnapshot when there is none.
func LatestSnapshot(dir, db string) (string, time.Time, error) {
	sets, err := board.Snapshot.List(dir, db)
	if err != nil {
		return "", time.Time{}, err
	}
	if len(sets) == 0 {
		return "", time.Time{}, fmt.Errorf("%w of %s in %s", ErrNoSnapshot, db, dir)
	}
	s := sets[len(sets)-1]
	return s.Path, s.When, nil
}

// SnapshotTakenAt is when the snapshot at path was taken: the time in
// its set name, else its modification time (zero when it cannot be told).
func SnapshotTakenAt(path string) time.Time { return takenAt(path) }

// takenAt is a snapshot's time: from its set name, else its mtime.
func takenAt(path string) time.Time {
	sets, _ := board.Snapshot.ListAll(filepath.Dir(path))
	for _, s := range sets {
		if filepath.Clean(s.Path) == filepath.Clean(path) {
			return s.When
		}
	}
	if fi, err := os.Stat(path); err == nil {
		return fi.ModTime().UTC().Truncate(time.Second)
	}
	return time.Time{}
}

// usable opens a snapshot read-only and wants quick_check ok and a
// tasks table.
func usable(path string) error {
	c, err := sqlite3.OpenFlags(immutableURI(path), sqlite3.OPEN_READONLY|sqlite3.OPEN_URI)
	if err != nil {
		return err
	}
	defer c.Close()
	msgs, err := migrate.QuickCheck(c)
	if err != nil {
		return err
	}
	if len(msgs) > 0 {
		return fmt.Errorf("quick_check: %s", strings.Join(msgs[:min(3, len(msgs))], "; "))
	}
	if _, _, err := sqlx.QueryInt(c, "SELECT count(*) FROM tasks"); err != nil {
		return err
	}
	return nil
}

// immutableURI opens a file nobody writes without locks or a journal:
// a snapshot set, or a private copy.
func immutableURI(path string) string {
	return (&url.URL{Scheme: "file", Path: path, RawQuery: "mode=ro&immutable=1"}).String()
}

// restorer fills the holes of a fresh salvage from a snapshot.
type restorer struct {
	ctx  context.Context
	conn *sqlite3.Conn
	src  *snapshotSource
	rep  *Restored
	// lastEvent is the snapshot's newest event id: events above it were
	// written after the snapshot.
	lastEvent int64
	tables    map[string]*RestoredTable
	restored  map[string]map[string]bool // table → KeyText of rows put back
	cols      map[string]string          // table → the column list both sides have
}

// restoreFrom attaches the snapshot to the output connection, restores
// the rows loss names that the snapshot holds and the output lacks, and
// detaches it. A salvaged row always wins: rows are only ever inserted
// where the output has none with that key.
func restoreFrom(ctx context.Context, c *sqlite3.Conn, src *snapshotSource, loss *Loss, now time.Time) (*Restored, error) {
	r := &restorer{ctx: ctx, conn: c, src: src, tables: map[string]*RestoredTable{}, restored: map[string]map[string]bool{}, cols: map[string]string{},
		rep: &Restored{Snapshot: src.named, TakenAt: src.takenAt.UTC(), TaskIDs: []string{}, Tables: []RestoredTable{},
			Stale: []StaleRow{}, NotRestored: []SkippedRow{}}}
	if !src.takenAt.IsZero() {
		r.rep.AgeSeconds = int64(now.Sub(src.takenAt).Seconds())
	}
	if _, err := sqlx.Exec(c, "ATTACH DATABASE ? AS "+snapAlias, immutableURI(src.path)); err != nil {
		return nil, fmt.Errorf("attach snapshot: %w", err)
	}
	err := r.run(loss)
	if _, derr := sqlx.Exec(c, "DETACH DATABASE "+snapAlias); err == nil && derr != nil {
		err = fmt.Errorf("detach snapshot: %w", derr)
	}
	if err != nil {
		return nil, err
	}
	return r.rep, nil
}

func (r *restorer) run(loss *Loss) (err error) {
	if r.lastEvent, err = r.snapLastEvent(); err != nil {
		return err
	}
	tx, err := r.conn.BeginImmediate()
	if err != nil {
		return err
	}
	defer tx.End(&err)
	if err := r.named(loss); err != nil {
		return err
	}
	if err := r.dependents(); err != nil {
		return err
	}
	if err := r.stale(); err != nil {
		return err
	}
	r.finish()
	return nil
}

// snapLastEvent is the highest event id the snapshot had handed out.
func (r *restorer) snapLastEvent() (int64, error) {
	n, _, err := sqlx.QueryInt(r.conn, `SELECT max(coalesce((SELECT max(id) FROM snap.task_events), 0),
		coalesce((SELECT seq FROM snap.sqlite_sequence WHERE name = 'task_events'), 0))`)
	if err != nil {
		return 0, fmt.Errorf("snapshot events: %w", err)
	}
	return n, nil
}

// restoreOrder puts tasks first (their dependents follow them) and runs
// before events (which name runs).
func restoreOrder(ts []TableLoss) []TableLoss {
	rank := map[string]int{"tasks": 0, "task_runs": 1}
	out := append([]TableLoss(nil), ts...)
	sort.SliceStable(out, func(i, j int) bool {
		ri, ok := rank[out[i].Table]
		if !ok {
			ri = 2
		}
		rj, ok := rank[out[j].Table]
		if !ok {
			rj = 2
		}
		return ri < rj
	})
	return out
}

// named restores the rows the loss accounting lists by key.
func (r *restorer) named(loss *Loss) error {
	for _, tl := range restoreOrder(loss.Tables) {
		if len(tl.Missing) == 0 || slices.Contains(tl.KeyColumns, "rowid") {
			continue
		}
		cols, err := r.columns(tl.Table)
		if err != nil || cols == "" {
			continue // a table the snapshot or the output lacks
		}
		where := make([]string, len(tl.KeyColumns))
		for i, k := range tl.KeyColumns {
			where[i] = sqlx.QuoteIdent(k) + " = ?"
		}
		cond := strings.Join(where, " AND ")
		for _, m := range tl.Missing {
			if m.Key == nil || len(m.Key) != len(tl.KeyColumns) {
				continue
			}
			if err := r.ctx.Err(); err != nil {
				return err
			}
			if tl.Table == "tasks" {
				if skip, err := r.archivedSince(m.Key[0]); err != nil {
					return err
				} else if skip != "" {
					r.rep.NotRestored = append(r.rep.NotRestored, SkippedRow{Table: "tasks", Key: m.KeyText(), Reason: skip})
					continue
				}
			}
			n, err := r.insert(tl.Table, cols, cond, m.Key...)
			if err != nil {
				return fmt.Errorf("restore %s %s: %w", tl.Table, m.KeyText(), err)
			}
			switch {
			case n > 0:
				r.count(tl.Table, m.KeyText(), true)
			case r.snapHas(tl.Table, cond, m.Key):
				r.rep.NotRestored = append(r.rep.NotRestored, SkippedRow{Table: tl.Table, Key: m.KeyText(),
					Reason: "a salvaged row holds its key or one of its unique values"})
			default:
				r.rep.NotInSnapshot++
			}
		}
	}
	return nil
}

// archivedSince returns why a lost task must not come back: an event
// written after the snapshot archived it. A deleted task takes its
// events with it, so no loss ever names one.
func (r *restorer) archivedSince(id any) (string, error) {
	var reason string
	err := sqlx.Query(r.conn, `SELECT id, created_at FROM main.task_events
		WHERE task_id = ? AND id > ? AND kind = 'archived' ORDER BY id DESC LIMIT 1`, []any{id, r.lastEvent}, func(row *sqlx.Row) error {
		reason = fmt.Sprintf("archived after the snapshot (event %d at %s)", row.Int("id"),
			time.Unix(row.Int("created_at"), 0).UTC().Format(time.RFC3339))
		return nil
	})
	return reason, err
}

// insert copies the snapshot's row(s) matching cond into the output
// where the output has no row with that key, and returns how many.
func (r *restorer) insert(table, cols, cond string, args ...any) (int64, error) {
	t := sqlx.QuoteIdent(table)
	return sqlx.Exec(r.conn, "INSERT OR IGNORE INTO main."+t+" ("+cols+") SELECT "+cols+" FROM "+snapAlias+"."+t+" WHERE "+cond, args...)
}

func (r *restorer) snapHas(table, cond string, key []any) bool {
	n, _, err := sqlx.QueryInt(r.conn, "SELECT count(*) FROM "+snapAlias+"."+sqlx.QuoteIdent(table)+" WHERE "+cond, key...)
	return err == nil && n > 0
}

// columns is the column list the output and the snapshot both have for
// table ("" when either lacks the table). Columns only the output has get
// their defaults; columns only the snapshot has are dropped.
func (r *restorer) columns(table string) (string, error) {
	if c, ok := r.cols[table]; ok {
		return c, nil
	}
	names := func(schema string) (map[string]bool, []string, error) {
		set := map[string]bool{}
		var order []string
		err := sqlx.Query(r.conn, "SELECT name FROM pragma_table_info(?, ?)", []any{table, schema}, func(row *sqlx.Row) error {
			n := row.Text("name")
			set[strings.ToLower(n)] = true
			order = append(order, n)
			return nil
		})
		return set, order, err
	}
	_, out, err := names("main")
	if err != nil {
		return "", err
	}
	in, _, err := names(snapAlias)
	if err != nil {
		return "", err
	}
	var both []string
	for _, c := range out {
		if in[strings.ToLower(c)] {
			both = append(both, sqlx.QuoteIdent(c))
		}
	}
	r.cols[table] = strings.Join(both, ", ")
	return r.cols[table], nil
}

// dependents restores, for every restored task, the rows of other tables
// that name it and that the output lacks. A link comes back only when
// both its tasks are on the board, recipe membership only with its
// instance.
func (r *restorer) dependents() error {
	ids := make([]string, 0, len(r.restored["tasks"]))
	for id := range r.restored["tasks"] {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, ref := range dependentRefs() {
		cols, err := r.columns(ref.Table)
		if err != nil || cols == "" {
			continue
		}
		cond := sqlx.QuoteIdent(ref.Column) + " = ?"
		switch ref.Table {
		case "task_links":
			cond += " AND parent_id IN (SELECT id FROM main.tasks) AND child_id IN (SELECT id FROM main.tasks)"
		case "recipe_instance_tasks":
			cond += " AND instance_id IN (SELECT id FROM main.recipe_instances)"
		}
		keys, err := r.keyColumns(ref.Table)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := r.ctx.Err(); err != nil {
				return err
			}
			if err := r.insertEach(ref.Table, cols, cond, keys, id); err != nil {
				return fmt.Errorf("restore %s of %s: %w", ref.Table, id, err)
			}
		}
	}
	return nil
}

// dependentRefs are the references to tasks, runs first (events name
// them).
func dependentRefs() []migrate.Reference {
	var out []migrate.Reference
	for _, ref := range migrate.References {
		if ref.Target == "tasks" {
			out = append(out, ref)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Table == "task_runs" && out[j].Table != "task_runs" })
	return out
}

// insertEach restores the snapshot's rows matching cond one by one, so
// each restored row's key is known.
func (r *restorer) insertEach(table, cols, cond string, keys []string, arg any) error {
	t := sqlx.QuoteIdent(table)
	keyCols := make([]string, len(keys))
	match := make([]string, len(keys))
	for i, k := range keys {
		keyCols[i] = sqlx.QuoteIdent(k)
		match[i] = "m." + sqlx.QuoteIdent(k) + " IS s." + sqlx.QuoteIdent(k)
	}
	var rows [][]any
	err := sqlx.Query(r.conn, "SELECT "+strings.Join(keyCols, ", ")+" FROM "+snapAlias+"."+t+" AS s WHERE "+cond+
		" AND NOT EXISTS (SELECT 1 FROM main."+t+" AS m WHERE "+strings.Join(match, " AND ")+")", []any{arg}, func(row *sqlx.Row) error {
		vals := make([]any, len(keys))
		for i := range keys {
			vals[i] = row.ValueAt(i)
		}
		rows = append(rows, vals)
		return nil
	})
	if err != nil {
		return err
	}
	where := make([]string, len(keys))
	for i, k := range keys {
		where[i] = sqlx.QuoteIdent(k) + " = ?"
	}
	for _, key := range rows {
		n, err := r.insert(table, cols, strings.Join(where, " AND "), key...)
		if err != nil {
			return err
		}
		if n > 0 {
			r.count(table, (MissingRow{Key: key}).KeyText(), false)
		}
	}
	return nil
}

// keyColumns is a table's primary key in the output (its rowid alias
// for an INTEGER PRIMARY KEY table).
func (r *restorer) keyColumns(table string) ([]string, error) {
	type pk struct {
		name string
		n    int64
	}
	var pks []pk
	err := sqlx.Query(r.conn, "SELECT name, pk FROM pragma_table_info(?, 'main') WHERE pk > 0", []any{table}, func(row *sqlx.Row) error {
		pks = append(pks, pk{row.Text("name"), row.Int("pk")})
		return nil
	})
	sort.Slice(pks, func(i, j int) bool { return pks[i].n < pks[j].n })
	out := make([]string, len(pks))
	for i, p := range pks {
		out[i] = p.name
	}
	if len(out) == 0 && err == nil {
		err = fmt.Errorf("%s has no primary key", table)
	}
	return out, err
}

func (r *restorer) count(table, key string, named bool) {
	t := r.tables[table]
	if t == nil {
		t = &RestoredTable{Table: table}
		r.tables[table] = t
		r.restored[table] = map[string]bool{}
	}
	t.Rows++
	if named {
		t.Named++
	}
	r.restored[table][key] = true
}

// stale lists restored tasks and runs whose task has events newer than
// the snapshot: the board changed them after it was taken.
func (r *restorer) stale() error {
	for _, table := range []string{"tasks", "task_runs"} {
		keys := make([]string, 0, len(r.restored[table]))
		for k := range r.restored[table] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		q := `SELECT e.id, e.kind, e.created_at FROM main.task_events e WHERE e.task_id = ? AND e.id > ? ORDER BY e.id DESC LIMIT 1`
		if table == "task_runs" {
			q = `SELECT e.id, e.kind, e.created_at FROM main.task_events e
				WHERE e.task_id = (SELECT task_id FROM main.task_runs WHERE id = ?) AND e.id > ? ORDER BY e.id DESC LIMIT 1`
		}
		for _, k := range keys {
			var arg any = k
			if table == "task_runs" {
				var id int64
				if _, err := fmt.Sscan(k, &id); err != nil {
					continue
				}
				arg = id
			}
			err := sqlx.Query(r.conn, q, []any{arg, r.lastEvent}, func(row *sqlx.Row) error {
				r.rep.Stale = append(r.rep.Stale, StaleRow{Table: table, Key: k, LastEventID: row.Int("id"),
					LastEventKind: row.Text("kind"), LastEventAt: time.Unix(row.Int("created_at"), 0).UTC()})
				return nil
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// finish orders the per-table counts and totals them.
func (r *restorer) finish() {
	for _, t := range r.tables {
		r.rep.Tables = append(r.rep.Tables, *t)
		r.rep.RowsRestored += t.Rows
	}
	sort.Slice(r.rep.Tables, func(i, j int) bool {
		a, b := r.rep.Tables[i], r.rep.Tables[j]
		if (a.Table == "tasks") != (b.Table == "tasks") {
			return a.Table == "tasks"
		}
		return a.Table < b.Table
	})
	for id := range r.restored["tasks"] {
		r.rep.TaskIDs = append(r.rep.TaskIDs, id)
	}
	sort.Strings(r.rep.TaskIDs)
	r.rep.TasksRestored = len(r.rep.TaskIDs)
	r.rep.keys = r.restored
}
