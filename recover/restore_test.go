package recover_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kanbanshim/kanbanshim/fixtures"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/recover"
)

// restoreCase is a board that was snapshotted, then written to, then
// damaged: leaves of tasks and of task_events zeroed.
type restoreCase struct {
	db, snapDir string
	snapRows    fixtures.Rows // the board as the snapshot holds it
	later       []string      // tasks added after the snapshot
	archived    string        // an old task archived after the snapshot, on a zeroed leaf
	changed     string        // an old task with an event after the snapshot, on a zeroed leaf
	deleted     string        // an old task deleted after the snapshot, on a zeroed leaf
	lostTasks   []string      // tasks on the zeroed leaves (the deleted one is gone by then)
	lostEvents  []string      // keys of the events on the zeroed leaf
	boardRows   fixtures.Rows // the board just before the damage
	comment     string        // a comment of a lost task, edited after the snapshot
}

// buildRestoreCase makes the board of a restoreCase in journal mode.
// With unnamed, the task_events leaf zeroed is one holding events of a
// lost task, and every task_events index goes too: no index names the
// events lost, so only the restore of a task's dependents brings its
// events back.
func buildRestoreCase(t *testing.T, journal string, unnamed ...bool) *restoreCase {
	t.Helper()
	dir := t.TempDir()
	rc := &restoreCase{db: filepath.Join(dir, "kanban.db"), snapDir: filepath.Join(dir, "snapshots")}
	b, err := fixtures.Create(ctx(t), rc.db, fixtures.BoardOptions{Journal: journal, Tasks: 300, PageSize: 4096, BodyBytes: 120, Seed: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Conn.Close()
	taken := time.Unix(fixtures.Epoch+7*86400, 0)
	if _, err := recover.Snapshot(ctx(t), recover.SnapshotOptions{DBPath: rc.db, Dir: rc.snapDir, Now: func() time.Time { return taken }}); err != nil {
		t.Fatal(err)
	}
	if rc.snapRows, err = fixtures.Snapshot(b.Conn); err != nil {
		t.Fatal(err)
	}
	leaves, err := b.TableLeaves("tasks")
	if err != nil {
		t.Fatal(err)
	}
	mid := leaves[len(leaves)/2 : len(leaves)/2+2]
	old := append(append([]string{}, mid[0].Keys...), mid[1].Keys...)
	rc.archived, rc.changed, rc.deleted = old[1], old[2], old[3]

	// After the snapshot: new tasks, an archive, an edit, a deletion.
	if err := b.AddTasks(40, 0); err != nil {
		t.Fatal(err)
	}
	rc.later = b.Tasks[300:]
	at := fixtures.Epoch + 8*86400
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE tasks SET status = 'archived' WHERE id = ?`, []any{rc.archived}},
		{`INSERT INTO task_events (task_id, kind, created_at) VALUES (?, 'archived', ?)`, []any{rc.archived, at}},
		{`UPDATE tasks SET priority = 9 WHERE id = ?`, []any{rc.changed}},
		{`INSERT INTO task_events (task_id, kind, payload, created_at) VALUES (?, 'reprioritized', '{"priority":9}', ?)`, []any{rc.changed, at + 1}},
	} {
		if _, err := sqlx.Exec(b.Conn, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.DeleteTasks([]string{rc.deleted}); err != nil {
		t.Fatal(err)
	}

	// The damage, on the file as it is now (checkpointed): the two leaves
	// that hold the three tasks, and a middle leaf of task_events.
	if leaves, err = b.TableLeaves("tasks"); err != nil {
		t.Fatal(err)
	}
	var zero []uint32
	for _, l := range leaves {
		if slices.Contains(l.Keys, rc.archived) || slices.Contains(l.Keys, rc.changed) || slices.Contains(l.Keys, rc.deleted) {
			zero = append(zero, l.Page)
			rc.lostTasks = append(rc.lostTasks, l.Keys...)
		}
	}
	for _, id := range rc.lostTasks {
		if slices.Contains(rc.later, id) {
			t.Fatalf("a task added after the snapshot (%s) is on a leaf to be zeroed", id)
		}
	}
	// A comment of a lost task, edited after the snapshot: the salvage
	// reads it off an intact page, and that version must win.
	for _, id := range rc.lostTasks {
		if err := sqlx.Query(b.Conn, `SELECT id FROM task_comments WHERE task_id = ? LIMIT 1`, []any{id}, func(r *sqlx.Row) error {
			rc.comment = r.Text("id")
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if rc.comment != "" {
			break
		}
	}
	if rc.comment == "" {
		t.Fatal("no lost task has a comment")
	}
	if _, err := sqlx.Exec(b.Conn, `UPDATE task_comments SET body = 'edited after the snapshot' WHERE id = ?`, rc.comment); err != nil {
		t.Fatal(err)
	}
	events, err := b.TableLeaves("task_events")
	if err != nil {
		t.Fatal(err)
	}
	if rc.boardRows, err = fixtures.Snapshot(b.Conn); err != nil {
		t.Fatal(err)
	}
	leaf := events[len(events)/3]
	if len(unnamed) > 0 && unnamed[0] {
		leaf = eventLeafOf(t, b, events, rc.lostTasks)
		roots, err := b.IndexRoots("task_events")
		if err != nil {
			t.Fatal(err)
		}
		zero = append(zero, roots...)
	}
	zero = append(zero, leaf.Page)
	rc.lostEvents = leaf.Keys
	if err := b.Conn.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fixtures.ZeroPages(rc.db, 4096, zero...); err != nil {
		t.Fatal(err)
	}
	return rc
}

// eventLeafOf is a task_events leaf holding an event of one of tasks.
func eventLeafOf(t *testing.T, b *fixtures.Board, leaves []fixtures.Leaf, tasks []string) fixtures.Leaf {
	t.Helper()
	for _, l := range leaves {
		for _, k := range l.Keys {
			n, _, err := sqlx.QueryInt(b.Conn, "SELECT count(*) FROM task_events WHERE id = ? AND task_id IN (SELECT value FROM json_each(?))",
				k, `["`+strings.Join(tasks, `","`)+`"]`)
			if err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				return l
			}
		}
	}
	t.Fatal("no task_events leaf holds an event of a lost task")
	return fixtures.Leaf{}
}

// The end-to-end case: snapshot, more tasks, leaves of tasks and
// task_events destroyed, auto. Every task that existed at the snapshot is
// back (but the one archived since, which must not come back alive, and
// the one deleted since), the later tasks on intact pages are back, the
// board passes integrity_check, and the report keeps restored rows apart
// from salvaged ones and names the stale one.
func TestAuto_restoresFromSnapshot(t *testing.T) {
	for _, journal := range []string{"delete", "wal"} {
		t.Run(journal, func(t *testing.T) {
			rc := buildRestoreCase(t, journal)
			now := time.Unix(fixtures.Epoch+9*86400, 0)
			rep, err := recover.Auto(ctx(t), recover.AutoOptions{DBPath: rc.db, SnapshotDir: rc.snapDir,
				Now: func() time.Time { return now }, LeaseTimeout: time.Second})
			if err != nil {
				t.Fatalf("auto: %v", err)
			}
			if rep.Status != recover.StatusRepaired || rep.Action != recover.ActionSalvage {
				t.Fatalf("status %s action %s", rep.Status, rep.Action)
			}
			c := openDB(t, rc.db)
			integrityOK(t, c)
			got, err := fixtures.Snapshot(c)
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			for _, id := range got.Keys("tasks") {
				have[id] = true
			}
			for _, id := range rc.snapRows.Keys("tasks") {
				if !have[id] && id != rc.archived && id != rc.deleted {
					t.Errorf("task %s of the snapshot is not back", id)
				}
			}
			for _, id := range rc.later {
				if !have[id] {
					t.Errorf("task %s added after the snapshot is not back", id)
				}
			}
			if have[rc.archived] || have[rc.deleted] {
				t.Errorf("resurrected: archived %s %v, deleted %s %v", rc.archived, have[rc.archived], rc.deleted, have[rc.deleted])
			}
			// The events of the zeroed task_events leaf are back, each as
			// the snapshot had it.
			for _, k := range rc.lostEvents {
				if _, ok := got["task_events"][k]; !ok {
					t.Errorf("event %s is not back", k)
				} else if got["task_events"][k] != rc.snapRows["task_events"][k] {
					t.Errorf("event %s differs from the snapshot's", k)
				}
			}

			r := rep.Salvage.Restored
			if r == nil {
				t.Fatal("no restored section in the report")
			}
			// A salvaged row wins over the snapshot's: every row is the
			// board's version, except the restored ones, which are the
			// snapshot's.
			for table, rows := range got {
				for k, d := range rows {
					want, from := rc.boardRows[table][k], "board's"
					if r.Has(table, k) {
						want, from = rc.snapRows[table][k], "snapshot's"
					}
					if d != want {
						t.Errorf("%s %s is not the %s version", table, k, from)
					}
				}
			}
			if got["task_comments"][rc.comment] != rc.boardRows["task_comments"][rc.comment] {
				t.Errorf("comment %s: the snapshot's version replaced the salvaged one", rc.comment)
			}
			wantTasks := len(rc.lostTasks) - 1 // not the archived one
			if r.TasksRestored != wantTasks || len(r.TaskIDs) != wantTasks {
				t.Errorf("tasks restored = %d (%d ids), want %d", r.TasksRestored, len(r.TaskIDs), wantTasks)
			}
			if slices.Contains(r.TaskIDs, rc.archived) || len(r.NotRestored) != 1 || r.NotRestored[0].Key != rc.archived ||
				!strings.HasPrefix(r.NotRestored[0].Reason, "archived after the snapshot") {
				t.Errorf("not restored = %+v", r.NotRestored)
			}
			if len(r.Stale) != 1 || r.Stale[0].Key != rc.changed || r.Stale[0].LastEventKind != "reprioritized" {
				t.Errorf("stale = %+v, want %s", r.Stale, rc.changed)
			}
			if r.AgeSeconds != 2*86400 || r.TakenAt.Unix() != fixtures.Epoch+7*86400 {
				t.Errorf("age %d taken %v", r.AgeSeconds, r.TakenAt)
			}
			// Salvaged and restored rows add up to the board, each once.
			total := 0
			for _, rows := range got {
				total += len(rows)
			}
			if n := rep.Salvage.RowsRecovered + r.RowsRestored; n != total {
				t.Errorf("salvaged %d + restored %d = %d, board has %d rows", rep.Salvage.RowsRecovered, r.RowsRestored, n, total)
			}
			// What stays lost: only the archived task.
			if !rep.WithLoss || rep.Loss.TasksLost != 1 || rep.Loss.TaskIDs[0] != rc.archived {
				t.Errorf("with_loss %v, loss %+v", rep.WithLoss, rep.Loss)
			}
			if rep.Diff.OldLoss.TasksLost != 1 {
				t.Errorf("diff old loss = %d tasks, want 1", rep.Diff.OldLoss.TasksLost)
			}
		})
	}
}

// Without a snapshot, or with it turned off, nothing is restored and the
// loss is what it was.
func TestSalvage_snapshotOff(t *testing.T) {
	rc := buildRestoreCase(t, "delete")
	out := filepath.Join(t.TempDir(), "out.db")
	rep, err := recover.Salvage(ctx(t), recover.SalvageOptions{DBPath: rc.db, OutPath: out})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Restored != nil || rep.Loss.TasksLost != len(rc.lostTasks) {
		t.Errorf("restored %+v, tasks lost %d (want %d)", rep.Restored, rep.Loss.TasksLost, len(rc.lostTasks))
	}
	// An empty snapshot directory: a note says there is none.
	out2 := filepath.Join(t.TempDir(), "out.db")
	rep, err = recover.Salvage(ctx(t), recover.SalvageOptions{DBPath: rc.db, OutPath: out2, SnapshotDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Restored != nil || !slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.Contains(n, "no verified snapshot") }) {
		t.Errorf("restored %+v, notes %q", rep.Restored, rep.Notes)
	}
}

// A named snapshot (--snapshot PATH) is read through a copy: the file is
// untouched. A missing one is an error, not a silent salvage without it.
func TestSalvage_namedSnapshot(t *testing.T) {
	rc := buildRestoreCase(t, "delete")
	sets, err := os.ReadDir(rc.snapDir)
	if err != nil || len(sets) != 1 {
		t.Fatal(sets, err)
	}
	named := filepath.Join(rc.snapDir, sets[0].Name())
	before := hashBoard(t, named)
	rep, err := recover.Salvage(ctx(t), recover.SalvageOptions{DBPath: rc.db, OutPath: filepath.Join(t.TempDir(), "out.db"), SnapshotPath: named})
	if err != nil {
		t.Fatal(err)
	}
	if hashBoard(t, named) != before {
		t.Error("the named snapshot changed")
	}
	if rep.Restored == nil || rep.Restored.Snapshot != named || rep.Restored.TasksRestored != len(rc.lostTasks)-1 {
		t.Fatalf("restored = %+v", rep.Restored)
	}
	_, err = recover.Salvage(ctx(t), recover.SalvageOptions{DBPath: rc.db, OutPath: filepath.Join(t.TempDir(), "x.db"),
		SnapshotPath: filepath.Join(t.TempDir(), "none.db")})
	if !errors.Is(err, recover.ErrSnapshotInvalid) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing named snapshot: %v", err)
	}
}

// Rows of a restored task that no index or reference names (the events
// leaf and every task_events index zeroed) come back with their task;
// events of tasks the salvage read stay lost, as nothing names them.
func TestSalvage_restoresDependents(t *testing.T) {
	rc := buildRestoreCase(t, "delete", true)
	out := filepath.Join(t.TempDir(), "out.db")
	rep, err := recover.Salvage(ctx(t), recover.SalvageOptions{DBPath: rc.db, OutPath: out, SnapshotDir: rc.snapDir})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Restored
	if r == nil {
		t.Fatal("nothing restored")
	}
	var ev *recover.RestoredTable
	for i := range r.Tables {
		if r.Tables[i].Table == "task_events" {
			ev = &r.Tables[i]
		}
	}
	if ev == nil || ev.Rows == 0 || ev.Named != 0 {
		t.Fatalf("task_events restored = %+v", ev)
	}
	c := openDB(t, out)
	integrityOK(t, c)
	got, err := fixtures.Snapshot(c)
	if err != nil {
		t.Fatal(err)
	}
	restoredTask := map[string]bool{}
	for _, id := range r.TaskIDs {
		restoredTask[id] = true
	}
	back := 0
	for _, k := range rc.lostEvents {
		var task string
		if err := sqlx.Query(openDB(t, r.Snapshot), "SELECT task_id FROM task_events WHERE id = ?", []any{k}, func(row *sqlx.Row) error {
			task = row.Text("task_id")
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		_, ok := got["task_events"][k]
		if restoredTask[task] && !ok {
			t.Errorf("event %s of restored task %s is not back", k, task)
		}
		if ok {
			back++
		}
	}
	if back != ev.Rows {
		t.Errorf("%d of the zeroed leaf's events are back, the report says %d restored", back, ev.Rows)
	}
}
