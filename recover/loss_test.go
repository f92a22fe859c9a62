package recover_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kanbanshim/kanbanshim/fixtures"
	"github.com/kanbanshim/kanbanshim/recover"
)

// lossBoard builds a 300-task board with n leaves of table zeroed
// (fixtures.ZeroLeaves; WAL boards checkpointed first) and returns the
// database, the keys the zeroed leaves held (the true loss, read from the
// intact board) and the zeroed pages. The intact board is kept at
// db+".intact". The roots of the named indexes of table are zeroed too
// ("*": all).
func lossBoard(t *testing.T, journal, table string, n int, indexes ...string) (db string, lost []string, pages []uint32) {
	t.Helper()
	db = filepath.Join(t.TempDir(), "kanban.db")
	lost, pages, err := fixtures.ZeroLeaves(ctx(t), db, fixtures.LeafDamage{Journal: journal, Table: table, Leaves: n,
		Indexes: indexes, Intact: db + ".intact"})
	if err != nil {
		t.Fatal(err)
	}
	return db, lost, pages
}

// salvageT salvages db into db+".new".
func salvageT(t *testing.T, db string) *recover.Report {
	t.Helper()
	rep, err := recover.Salvage(ctx(t), recover.SalvageOptions{DBPath: db, OutPath: db + ".new", Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func missingKeys(tl *recover.TableLoss) []string {
	var out []string
	for _, m := range tl.Missing {
		out = append(out, m.KeyText())
	}
	return out
}

// TestSalvage_lossEqualsTruth: two zeroed leaves of tasks (issue 10's
// third reproduction) and one of task_events; the reported lost keys are
// exactly the rows those pages held, per table, with the pages named.
func TestSalvage_lossEqualsTruth(t *testing.T) {
	for _, journal := range []string{"delete", "wal"} {
		for _, c := range []struct {
			table string
			n     int
		}{{"tasks", 2}, {"task_events", 1}} {
			t.Run(fmt.Sprintf("%s/%s", journal, c.table), func(t *testing.T) {
				db, lost, pages := lossBoard(t, journal, c.table, c.n)
				rep := salvageT(t, db)
				l := rep.Loss
				if len(l.Tables) != 1 || l.Tables[0].Table != c.table {
					t.Fatalf("loss tables = %+v, want only %s", l.Tables, c.table)
				}
				tl := l.Tables[0]
				if d := cmp.Diff(sortedCopy(lost), sortedCopy(missingKeys(&tl))); d != "" {
					t.Errorf("lost %s keys (-true +reported):\n%s", c.table, d)
				}
				if !tl.Exact || tl.RowsLost != len(lost) || l.RowsLost != len(lost) || !l.Exact || !l.Lossy() {
					t.Errorf("exact=%v rows_lost=%d total=%d loss exact=%v, want exact %d", tl.Exact, tl.RowsLost, l.RowsLost, l.Exact, len(lost))
				}
				if d := cmp.Diff(sortedPages(pages), tl.Pages); d != "" || tl.PagesUnreadable != c.n {
					t.Errorf("unreadable pages (-zeroed +reported) %d:\n%s", tl.PagesUnreadable, d)
				}
				if c.table == "tasks" {
					if l.TasksLost != len(lost) || !slices.Equal(l.TaskIDs, sortedCopy(lost)) {
						t.Errorf("tasks_lost %d, task_ids %v; want %d", l.TasksLost, l.TaskIDs, len(lost))
					}
					checkEvidence(t, tl)
				} else if l.TasksLost != 0 || len(l.TaskIDs) != 0 {
					t.Errorf("tasks_lost %d %v, want none", l.TasksLost, l.TaskIDs)
				}
				var buf bytes.Buffer
				rep.Text(&buf)
				if !strings.Contains(buf.String(), "LOST: ") {
					t.Errorf("salvage text lacks the LOST line:\n%s", buf.String())
				}
			})
		}
	}
}

// checkEvidence: each lost task is named by its primary-key index and by
// the events that still point at it.
func checkEvidence(t *testing.T, tl recover.TableLoss) {
	t.Helper()
	for _, m := range tl.Missing {
		if m.Rowid == nil || !slices.Contains(m.Evidence, "index sqlite_autoindex_tasks_1") || !slices.Contains(m.Evidence, "task_events.task_id") {
			t.Errorf("%s: rowid %v evidence %v", m.KeyText(), m.Rowid, m.Evidence)
		}
	}
}

// TestSalvage_lossFromReferences: with every index of tasks unreadable,
// the lost tasks are still named by the rows that refer to them (each has
// events), the count is a lower bound, and the rowid ranges of the two
// zeroed leaves bound it from above; no deletes left gaps, so both bounds
// meet the truth.
func TestSalvage_lossFromReferences(t *testing.T) {
	db, lost, _ := lossBoard(t, "delete", "tasks", 2, "*")
	rep := salvageT(t, db)
	tl := rep.Loss.Table("tasks")
	if tl == nil {
		t.Fatalf("no tasks loss: %+v", rep.Loss)
	}
	if d := cmp.Diff(sortedCopy(lost), sortedCopy(missingKeys(tl))); d != "" {
		t.Errorf("lost tasks (-true +reported):\n%s", d)
	}
	if tl.Exact || rep.Loss.Exact || tl.MaxRowsLost == nil || *tl.MaxRowsLost != int64(len(lost)) {
		t.Errorf("exact %v/%v, max %v; want inexact, at most %d", tl.Exact, rep.Loss.Exact, tl.MaxRowsLost, len(lost))
	}
	for _, m := range tl.Missing {
		if m.Rowid != nil || !slices.Contains(m.Evidence, "task_events.task_id") {
			t.Errorf("%s: rowid %v evidence %v", m.KeyText(), m.Rowid, m.Evidence)
		}
	}
	want := fmt.Sprintf("tasks: at least %d rows lost (at most %d, estimated from rowid gaps)", len(lost), len(lost))
	if lines := strings.Join(rep.Loss.Lines(false), "\n"); !strings.HasPrefix(lines, want) {
		t.Errorf("lines = %q, want prefix %q", lines, want)
	}
}

// checkLoss (part of TestSalvage_fixtures): the rows reported lost are
// exactly the manifest's Lost, which the fixture generator worked out with
// its own page reader before the damage, and the count is exact.
func checkLoss(t *testing.T, m *fixtures.Manifest, l *recover.Loss) {
	t.Helper()
	for _, tl := range l.Tables {
		if _, ok := m.Lost[tl.Table]; !ok && len(tl.Missing) > 0 {
			t.Errorf("%s: %v reported lost, the damage destroyed none", tl.Table, missingKeys(&tl))
		}
	}
	for table, keys := range m.Lost {
		tl := l.Table(table)
		if tl == nil {
			t.Errorf("%s: %v lost, none reported", table, keys)
			continue
		}
		if d := cmp.Diff(sortedCopy(keys), sortedCopy(missingKeys(tl))); d != "" || !tl.Exact {
			t.Errorf("%s lost (-true +reported), exact %v:\n%s", table, tl.Exact, d)
		}
	}
}

// TestSalvage_lossWithoutKeyIndex: the primary-key index is unreadable
// but idx_tasks_status is whole: it names every lost row by rowid, so the
// count is still exact, and the events name the lost ids (unpaired with
// rowids, never counted twice).
func TestSalvage_lossWithoutKeyIndex(t *testing.T) {
	db, lost, _ := lossBoard(t, "delete", "tasks", 2, "sqlite_autoindex_tasks_1")
	l := salvageT(t, db).Loss
	tl := l.Table("tasks")
	if tl == nil || !tl.Exact || tl.RowsLost != len(lost) || l.TasksLost != len(lost) {
		t.Fatalf("tasks loss %+v, want exactly %d", tl, len(lost))
	}
	if !slices.Equal(l.TaskIDs, sortedCopy(lost)) {
		t.Errorf("task_ids = %v, want %v", l.TaskIDs, lost)
	}
	if !strings.Contains(strings.Join(l.Lines(false), "\n"), fmt.Sprintf("tasks: %d rows lost (exact: index ", len(lost))) {
		t.Errorf("lines = %q", l.Lines(false))
	}
}

// TestSalvage_noLossOnHealthyBoards: a healthy board (every committed
// fixture that is healthy, and a fresh 300-task board) reports no loss
// at all, and its text has no loss lines.
func TestSalvage_noLossOnHealthyBoards(t *testing.T) {
	for _, name := range []string{"clean-delete", "clean-wal", "freelist"} {
		t.Run(name, func(t *testing.T) {
			m, err := fixtures.ReadManifest(fixtureDir, name)
			if err != nil {
				t.Fatal(err)
			}
			src := copyFixture(t, m)
			rep := salvageT(t, src)
			noLoss(t, rep)
		})
	}
}

// TestSalvage_noLossOnLiveWALBoard: a healthy 300-task WAL board copied
// while open, its latest commits (a delete among them) only in the -wal.
func TestSalvage_noLossOnLiveWALBoard(t *testing.T) {
	db := filepath.Join(t.TempDir(), "kanban.db")
	b, err := fixtures.Create(ctx(t), db, fixtures.BoardOptions{Journal: "wal", Tasks: 300, PageSize: 4096, BodyBytes: 120, Seed: 11, BigBodies: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Conn.Close()
	if err := b.Conn.WALAutoCheckpoint(0); err != nil {
		t.Fatal(err)
	}
	if err := b.AddTasks(20, 1); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteTasks(b.Tasks[100:110]); err != nil {
		t.Fatal(err)
	}
	rep := salvageT(t, db)
	if rep.WALApplied == 0 {
		t.Fatal("no WAL frames applied: the test lost its point")
	}
	noLoss(t, rep)
}

// TestDiff_loss: a damaged board against its salvage agrees on readable
// rows and reports the lost tasks; against the intact board (which holds
// them) nothing is lost and they show as only-new.
func TestDiff_loss(t *testing.T) {
	db, lost, _ := lossBoard(t, "delete", "tasks", 2)
	out := db + ".new"
	if _, err := recover.Salvage(ctx(t), recover.SalvageOptions{DBPath: db, OutPath: out, Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	r, err := recover.Diff(ctx(t), db, out)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Equal() || r.OldReadBy != recover.ReadBySalvage || r.NewLoss != nil {
		t.Errorf("equal %v, old read by %s, new loss %+v", r.Equal(), r.OldReadBy, r.NewLoss)
	}
	if r.OldLoss.TasksLost != len(lost) || !slices.Equal(r.OldLoss.TaskIDs, sortedCopy(lost)) {
		t.Errorf("old loss: %d tasks %v, want %d", r.OldLoss.TasksLost, r.OldLoss.TaskIDs, len(lost))
	}
	r, err = recover.Diff(ctx(t), db, db+".intact")
	if err != nil {
		t.Fatal(err)
	}
	if r.OldLoss.RowsLost != 0 || r.OldLoss.Lossy() {
		t.Errorf("rows the new board holds reported lost: %+v", r.OldLoss)
	}
	if td := r.Tables[0]; td.Table != "tasks" || td.OnlyNew != len(lost) || td.OnlyOld != 0 {
		t.Errorf("tasks diff = %+v, want %d only-new", td, len(lost))
	}
}

func noLoss(t *testing.T, rep *recover.Report) {
	t.Helper()
	if !rep.Loss.Empty() || rep.Loss.Lossy() || rep.Loss.RowsLost != 0 {
		b, _ := json.MarshalIndent(rep.Loss, "", " ")
		t.Errorf("loss on a healthy board: %s", b)
	}
	var buf bytes.Buffer
	rep.Text(&buf)
	if strings.Contains(buf.String(), "LOST") {
		t.Errorf("loss line on a healthy board:\n%s", buf.String())
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func sortedPages(p []uint32) []uint32 {
	out := slices.Clone(p)
	slices.Sort(out)
	return out
}
