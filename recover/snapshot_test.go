package recover_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/fixtures"
	"github.com/kanbanshim/kanbanshim/internal/pypeer"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/recover"
)

// snapBoard builds a board; a WAL board stays open with its last commits
// only in the -wal (no checkpoint), so a snapshot must read through it.
func snapBoard(t *testing.T, journal string, tasks int) *fixtures.Board {
	t.Helper()
	b, err := fixtures.Create(ctx(t), filepath.Join(t.TempDir(), "kanban.db"), fixtures.BoardOptions{Journal: journal, Tasks: tasks, PageSize: 4096, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Conn.Close() })
	if journal == "wal" {
		if err := b.Conn.WALAutoCheckpoint(0); err != nil {
			t.Fatal(err)
		}
		if err := b.AddTasks(5, 1); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func snapOpts(b *fixtures.Board) recover.SnapshotOptions {
	return recover.SnapshotOptions{DBPath: b.Path, Dir: filepath.Join(filepath.Dir(b.Path), "snapshots"), BusyTimeout: 10 * time.Second}
}

func rowsOf(t *testing.T, path string) fixtures.Rows {
	t.Helper()
	c, err := sqlite3.OpenFlags(path, sqlite3.OPEN_READONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rows, err := fixtures.Snapshot(c)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// A snapshot holds every committed row (the -wal's too), is one
// self-contained DELETE-mode file that passes integrity_check, and the
// board's files are byte-identical afterwards: nothing checkpointed.
func TestSnapshot_verifiedCopy(t *testing.T) {
	for _, journal := range []string{"wal", "delete"} {
		t.Run(journal, func(t *testing.T) {
			b := snapBoard(t, journal, 40)
			want, err := fixtures.Snapshot(b.Conn)
			if err != nil {
				t.Fatal(err)
			}
			before := hashBoard(t, b.Path)
			rep, err := recover.Snapshot(ctx(t), snapOpts(b))
			if err != nil {
				t.Fatal(err)
			}
			if after := hashBoard(t, b.Path); after != before {
				t.Errorf("board files changed by a snapshot: %v -> %v", before, after)
			}
			if rep.Status != recover.SnapshotTaken || rep.IntegrityCheck != "ok" || rep.Tasks != int64(len(b.Tasks)) || rep.JournalMode != journal {
				t.Errorf("report = %+v", rep)
			}
			if _, err := os.Stat(rep.Path + "-wal"); !os.IsNotExist(err) {
				t.Errorf("a -wal next to the snapshot: %v", err)
			}
			head := make([]byte, 20)
			f, err := os.Open(rep.Path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.ReadAt(head, 0)
			f.Close()
			if err != nil || head[18] != 1 || head[19] != 1 {
				t.Errorf("snapshot header bytes 18/19 = %v (want 1/1, rollback mode): %v", head[18:20], err)
			}
			if got := rowsOf(t, rep.Path); len(got.Minus(want)) > 0 || len(want.Minus(got)) > 0 {
				t.Errorf("snapshot rows differ: missing %v, extra %v", want.Minus(got), got.Minus(want))
			}
			integrityOK(t, openDB(t, rep.Path))
		})
	}
}

// Pruning keeps the newest snapshot_keep sets of this database and never
// touches another database's snapshots in the same directory.
func TestSnapshot_prunesToKeep(t *testing.T) {
	b := snapBoard(t, "delete", 10)
	o := snapOpts(b)
	other := filepath.Join(o.Dir, "other.db.snapshot-20200101T000000Z.db")
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	o.Keep = 2
	var paths []string
	for i := 0; i < 4; i++ {
		at := time.Unix(fixtures.Epoch+int64(i)*3600, 0)
		o.Now = func() time.Time { return at }
		rep, err := recover.Snapshot(ctx(t), o)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, rep.Path)
		if i == 3 && (len(rep.Kept) != 2 || rep.Kept[0] != paths[3] || rep.Kept[1] != paths[2] || len(rep.Pruned) != 1 || rep.Pruned[0] != paths[1]) {
			t.Errorf("kept %v, pruned %v", rep.Kept, rep.Pruned)
		}
	}
	sets, err := board.Snapshot.List(o.Dir, b.Path)
	if err != nil || len(sets) != 2 || sets[0].Path != paths[2] || sets[1].Path != paths[3] {
		t.Errorf("sets left = %+v, %v", sets, err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another database's snapshot was pruned: %v", err)
	}
}

// emptySHA is the sha256 of no bytes.
const emptySHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// noSnapshots fails when the snapshot directory holds anything.
func noSnapshots(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if len(ents) > 0 {
		t.Errorf("%s holds %d file(s) after a refused snapshot", dir, len(ents))
	}
}

// A board with a damage marker is refused before anything is read or
// written.
func TestSnapshot_refusesMarkedBoard(t *testing.T) {
	b := snapBoard(t, "delete", 10)
	if _, _, err := board.RecordDamage(b.Path, board.Damage{Seen: "test"}); err != nil {
		t.Fatal(err)
	}
	o := snapOpts(b)
	rep, err := recover.Snapshot(ctx(t), o)
	var de *recover.DamagedError
	if !errors.As(err, &de) || !errors.Is(err, recover.ErrDamaged) || de.Marker == nil || de.Marker.Seen != "test" {
		t.Fatalf("err = %v", err)
	}
	if rep.Status != recover.SnapshotDamaged || rep.Damage == nil {
		t.Errorf("report = %+v", rep)
	}
	noSnapshots(t, o.Dir)
}

// A board whose quick_check fails is refused, marked damaged, and no
// snapshot (not even a temporary file) is written.
func TestSnapshot_refusesDamagedBoard(t *testing.T) {
	for _, journal := range []string{"delete", "wal"} {
		t.Run(journal, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "kanban.db")
			if _, _, err := fixtures.ZeroLeaves(ctx(t), db, fixtures.LeafDamage{Journal: journal, Table: "tasks", Leaves: 1}); err != nil {
				t.Fatal(err)
			}
			before := hashBoard(t, db)
			o := recover.SnapshotOptions{DBPath: db, Dir: filepath.Join(filepath.Dir(db), "snapshots")}
			rep, err := recover.Snapshot(ctx(t), o)
			var de *recover.DamagedError
			if !errors.As(err, &de) || len(de.Problems) == 0 {
				t.Fatalf("err = %v", err)
			}
			if rep.Status != recover.SnapshotDamaged {
				t.Errorf("status = %s", rep.Status)
			}
			if d, err := board.ReadDamage(db); d == nil || err != nil {
				t.Errorf("no damage marker recorded: %v", err)
			}
			noSnapshots(t, o.Dir)
			// A WAL reader creates an empty -wal and a -shm where there
			// were none, as any SQLite reader does; the db is untouched.
			if after := hashBoard(t, db); after[0] != before[0] || after[1] != before[1] && after[1] != emptySHA {
				t.Errorf("the damaged board changed: %v -> %v", before, after)
			}
		})
	}
}

// A 0-byte database next to a -wal or -journal that holds data is
// damage, not an empty board: refused (marked, nothing written) before
// SQLite opens it, which would delete that sidecar.
func TestSnapshot_refusesEmptyWithData(t *testing.T) {
	for _, suf := range []string{board.WALSuffix, board.JournalSuffix} {
		t.Run(suf, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "kanban.db")
			data := []byte(strings.Repeat("frames an empty database hides ", 100))
			if err := os.WriteFile(db, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(db+suf, data, 0o644); err != nil {
				t.Fatal(err)
			}
			o := recover.SnapshotOptions{DBPath: db, Dir: filepath.Join(filepath.Dir(db), "snapshots")}
			rep, err := recover.Snapshot(ctx(t), o)
			if !errors.Is(err, recover.ErrDamaged) || rep.Status != recover.SnapshotDamaged {
				t.Errorf("err = %v, status %s; want the board refused as damaged", err, rep.Status)
			}
			if d, _ := board.ReadDamage(db); d == nil {
				t.Error("no damage marker recorded")
			}
			if got, err := os.ReadFile(db + suf); err != nil || !bytes.Equal(got, data) {
				t.Errorf("%s: %d bytes, %v; want it byte-identical", suf, len(got), err)
			}
			noSnapshots(t, o.Dir)
		})
	}
}

// A board with a hot -journal (a writer died mid-transaction) is not
// snapshotted: reading it would roll the journal back in the board, a
// write. One clear error (ErrHotJournal), nothing written, the board and
// its -journal byte-identical.
func TestSnapshot_refusesHotJournal(t *testing.T) {
	b := snapBoard(t, "delete", 10)
	b.Conn.Close()
	p, err := pypeer.New(t.TempDir(), b.Path)
	if errors.Is(err, pypeer.ErrNoPython) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := p.DieInTxn(ctx(t), "-", 200); err != nil {
		t.Fatal(err)
	}
	before := hashBoard(t, b.Path)
	journal, err := os.ReadFile(board.Journal(b.Path))
	if err != nil || len(journal) == 0 {
		t.Fatalf("no hot -journal: %v", err)
	}
	o := snapOpts(b)
	rep, err := recover.Snapshot(ctx(t), o)
	if !errors.Is(err, recover.ErrHotJournal) || rep.Status != recover.SnapshotFailed || !strings.Contains(err.Error(), "interrupted transaction") {
		t.Errorf("err = %v, status %s; want ErrHotJournal", err, rep.Status)
	}
	if after := hashBoard(t, b.Path); after != before {
		t.Errorf("the board changed: %v -> %v", before, after)
	}
	if got, _ := os.ReadFile(board.Journal(b.Path)); !bytes.Equal(got, journal) {
		t.Error("the -journal changed")
	}
	noSnapshots(t, o.Dir)
}

// Index contents quick_check does not cross-check: the copy fails
// integrity_check, the board is checked too, and it is refused as damaged.
func TestSnapshot_refusesIndexDamage(t *testing.T) {
	m, err := fixtures.ReadManifest(fixtureDir, "index-only")
	if err != nil {
		t.Fatal(err)
	}
	db := copyFixture(t, m)
	o := recover.SnapshotOptions{DBPath: db, Dir: filepath.Join(filepath.Dir(db), "snapshots")}
	rep, err := recover.Snapshot(ctx(t), o)
	if !errors.Is(err, recover.ErrDamaged) {
		t.Fatalf("err = %v (report %+v)", err, rep)
	}
	if rep.IntegrityCheck == "" || rep.IntegrityCheck == "ok" {
		t.Errorf("the copy's integrity_check = %q: quick_check, not the copy's check, refused it", rep.IntegrityCheck)
	}
	noSnapshots(t, o.Dir)
}

// Too little free space skips the snapshot with a clear error and writes
// nothing.
func TestSnapshot_skipsWithoutSpace(t *testing.T) {
	b := snapBoard(t, "delete", 10)
	o := snapOpts(b)
	fi, err := os.Stat(b.Path)
	if err != nil {
		t.Fatal(err)
	}
	o.FreeBytes = func(string) (uint64, error) { return uint64(fi.Size())*3 - 1, nil }
	rep, err := recover.Snapshot(ctx(t), o)
	var se *recover.SpaceError
	if !errors.As(err, &se) || !errors.Is(err, recover.ErrNoSpace) || se.Need != uint64(fi.Size())*3 {
		t.Fatalf("err = %v", err)
	}
	if rep.Status != recover.SnapshotSkipped {
		t.Errorf("status = %s", rep.Status)
	}
	noSnapshots(t, o.Dir)
	o.FreeBytes = func(string) (uint64, error) { return uint64(fi.Size()) * 3, nil }
	if _, err := recover.Snapshot(ctx(t), o); err != nil {
		t.Errorf("with exactly enough space: %v", err)
	}
}

// A Python writer (upstream's statements and locking) keeps writing while
// snapshots are taken: none of its writes fails, every snapshot verifies,
// and a snapshot finishes while the writer holds its write transaction
// open (the snapshot never waits for the write lock).
func TestSnapshot_pythonWriterKeepsGoing(t *testing.T) {
	for _, journal := range []string{"wal", "delete"} {
		t.Run(journal, func(t *testing.T) {
			b := snapBoard(t, journal, 20)
			if err := b.Conn.Close(); err != nil {
				t.Fatal(err)
			}
			peer, err := pypeer.New(t.TempDir(), b.Path)
			if errors.Is(err, pypeer.ErrNoPython) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			o := snapOpts(b)
			o.Keep = 100

			hold, err := peer.StartHold(ctx(t), b.Tasks[0], 3*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if _, err := recover.Snapshot(ctx(t), o); err != nil {
				t.Fatalf("snapshot while Python holds a write transaction: %v", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("the snapshot waited %v for Python's write transaction", d)
			}
			if _, err := hold.Wait(); err != nil {
				t.Fatalf("the held write failed: %v", err)
			}

			writes := 300
			if testing.Short() {
				writes = 100
			}
			run, err := peer.Start(ctx(t), pypeer.WorkOptions{Writes: writes, Tag: "py"})
			if err != nil {
				t.Fatal(err)
			}
			var reps []*recover.SnapshotReport
			for i := 0; i < 5; i++ {
				o.Now = func() time.Time { return time.Now().Add(time.Duration(len(reps)) * time.Hour) }
				rep, err := recover.Snapshot(ctx(t), o)
				if err != nil {
					t.Fatalf("snapshot %d during Python writes: %v", i, err)
				}
				reps = append(reps, rep)
			}
			res, err := run.Wait()
			if err != nil {
				t.Fatalf("Python writer: %v", err)
			}
			if res.Writes != writes {
				t.Errorf("Python wrote %d of %d", res.Writes, writes)
			}
			for _, rep := range reps {
				integrityOK(t, openDB(t, rep.Path))
			}
			c := openDB(t, b.Path)
			integrityOK(t, c)
			if n, _, err := sqlx.QueryInt(c, "SELECT count(*) FROM tasks WHERE created_by = 'py'"); err != nil || n != int64(len(res.Created)) {
				t.Errorf("board has %d of Python's %d tasks: %v", n, len(res.Created), err)
			}
		})
	}
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		12 * time.Second: "12s", 5*time.Minute + 10*time.Second: "5m", 3*time.Hour + 4*time.Minute: "3h4m",
		50 * time.Hour: "2d2h",
	} {
		if got := recover.Age(d); got != want {
			t.Errorf("Age(%v) = %q, want %q", d, got, want)
		}
	}
}

// An empty board, a 0-byte file or a database without a single table,
// has nothing to snapshot: ErrEmptyBoard, status "empty", nothing
// written and the file unchanged. (Before, "no such table: tasks".)
func TestSnapshot_emptyBoard(t *testing.T) {
	dir := t.TempDir()
	zero := filepath.Join(dir, "zero.db")
	if err := os.WriteFile(zero, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	noTables := filepath.Join(dir, "notables.db")
	c, err := sqlite3.Open(noTables)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Exec("PRAGMA user_version=7"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	for _, db := range []string{zero, noTables} {
		before := hashBoard(t, db)
		snaps := filepath.Join(dir, "snapshots")
		rep, err := recover.Snapshot(ctx(t), recover.SnapshotOptions{DBPath: db, Dir: snaps})
		if !errors.Is(err, recover.ErrEmptyBoard) || rep.Status != recover.SnapshotEmpty {
			t.Errorf("%s: status %q, err %v; want empty, ErrEmptyBoard", filepath.Base(db), rep.Status, err)
		}
		if sets, _ := board.Snapshot.List(snaps, db); len(sets) > 0 {
			t.Errorf("%s: snapshots written: %v", filepath.Base(db), sets)
		}
		if entries, _ := os.ReadDir(snaps); len(entries) > 0 {
			t.Errorf("%s: %s holds %d entries", filepath.Base(db), snaps, len(entries))
		}
		if after := hashBoard(t, db); after != before {
			t.Errorf("%s changed", filepath.Base(db))
		}
	}
}
