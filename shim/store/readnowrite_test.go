package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/sqlitefile"
)

// heldWALBoard makes a WAL board with 5 tasks whose last 20 commits are
// still in its -wal: they were made on a connection with automatic
// checkpoints and checkpoint-on-close off, as a Python writer holding the
// board open leaves them.
func heldWALBoard(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "kanban.db")
	s := openTest(t, db, testOpts(dir, "3.51.3"))
	for range 5 {
		if _, err := s.CreateTask(context.Background(), NewTask{Title: "task", CreatedBy: "tester"}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	c, err := sqlite3.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Config(sqlite3.DBCONFIG_NO_CKPT_ON_CLOSE, true); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := c.Exec("PRAGMA wal_autocheckpoint=0; UPDATE tasks SET title = 'edit " + string(rune('a'+i)) + "'"); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(board.WAL(db)); err != nil || fi.Size() == 0 {
		t.Fatalf("the -wal holds no commits: %v", err)
	}
	return db
}

// files reads the db and its -wal.
func files(t *testing.T, db string) [2][]byte {
	t.Helper()
	var out [2][]byte
	for i, p := range []string{db, board.WAL(db)} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = data
	}
	return out
}

func sameFiles(t *testing.T, db string, want [2][]byte, what string) {
	t.Helper()
	got := files(t, db)
	if !bytes.Equal(got[0], want[0]) || !bytes.Equal(got[1], want[1]) {
		t.Errorf("%s changed the db or its -wal (db %d -> %d bytes, -wal %d -> %d bytes)", what, len(want[0]), len(got[0]), len(want[1]), len(got[1]))
	}
}

// TestReads_neverCheckpoint: the ways a board is opened to be read (a read
// verb, a plain Open that writes nothing, OpenRead per poll, PeekCounts)
// leave the db and the -wal byte-identical: SQLite's checkpoint-on-close
// is off. A store that wrote checkpoints as it closes, as upstream's
// writers do; one that wrote on a board with a damage marker does not.
func TestReads_neverCheckpoint(t *testing.T) {
	ctx := context.Background()
	db := heldWALBoard(t)
	want := files(t, db)
	opts := testOpts(filepath.Dir(db), "3.51.3")
	for _, readVerb := range []bool{true, false} {
		o := opts
		o.ReadVerb = readVerb
		s, err := Open(ctx, db, o)
		if err != nil {
			t.Fatal(err)
		}
		if ts, err := s.ListTasks(ListFilter{}); err != nil || len(ts) != 5 || ts[0].Title != "edit t" {
			t.Fatalf("list: %d tasks, %v", len(ts), err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		sameFiles(t, db, want, "Open (ReadVerb "+map[bool]string{true: "true", false: "false"}[readVerb]+") + list + Close")
	}
	r, err := OpenRead(ctx, db, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ListTasks(ListFilter{}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	sameFiles(t, db, want, "OpenRead")
	if _, n, err := PeekCounts(ctx, db); err != nil || n != 5 {
		t.Fatalf("PeekCounts = %d, %v", n, err)
	}
	sameFiles(t, db, want, "PeekCounts")

	// A store that wrote, on a board with a damage marker: no checkpoint.
	if _, _, err := board.RecordDamage(db, board.Damage{Seen: "test"}); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, db, opts)
	if err != nil {
		t.Fatal(err)
	}
	s.wrote = true // as if it had committed (the marker keeps real writers off)
	if err := s.CheckpointPassive(); !errors.Is(err, board.ErrDamaged) {
		t.Fatalf("CheckpointPassive on a marked board = %v, want ErrDamaged", err)
	}
	s.Close()
	sameFiles(t, db, want, "a writer on a marked board")

	// Without the marker, a writer checkpoints on close.
	if err := board.ClearDamage(db); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, db, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTask(ctx, NewTask{Title: "written", CreatedBy: "tester"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if fi, err := os.Stat(board.WAL(db)); err == nil && fi.Size() > 0 {
		t.Errorf("a writer closing left a %d-byte -wal", fi.Size())
	}
}

// TestOpen_brokenWALChain: a data byte flipped in frame 3 of a -wal with
// intact commits after it is damage: every open (read verb or not,
// OpenRead) refuses with a CorruptError naming the repair command,
// records the damage marker and keeps a snapshot; the -wal and the db
// are untouched.
func TestOpen_brokenWALChain(t *testing.T) {
	ctx := context.Background()
	db := heldWALBoard(t)
	wal, _ := os.ReadFile(board.WAL(db))
	info, _ := sqlitefile.ParseWAL(wal, 0)
	off := sqlitefile.WALHeaderSize + 2*(sqlitefile.FrameHeaderSize+info.PageSize) + sqlitefile.FrameHeaderSize + 10
	wal[off] ^= 0xff
	if err := os.WriteFile(board.WAL(db), wal, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := sqlitefile.ParseWAL(wal, 0); !got.Broken() || got.FirstBadFrame != 3 {
		t.Fatalf("test setup: %+v", got)
	}
	want := files(t, db)
	opts := testOpts(filepath.Dir(db), "3.51.3")
	opts.Board = "default"
	for _, readVerb := range []bool{true, false} {
		o := opts
		o.ReadVerb = readVerb
		s, err := Open(ctx, db, o)
		var ce *CorruptError
		if !errors.As(err, &ce) || s != nil {
			t.Fatalf("Open (ReadVerb %v) = %v, want a CorruptError", readVerb, err)
		}
		if ce.RepairCommand() != "kanban-recover auto --board default" || ce.Snapshot == "" {
			t.Errorf("error %q: fix %q, snapshot %q", ce, ce.RepairCommand(), ce.Snapshot)
		}
	}
	if _, err := OpenRead(ctx, db, opts); !IsCorrupt(err) {
		t.Fatalf("OpenRead = %v, want corruption", err)
	}
	if d, err := board.ReadDamage(db); d == nil || err != nil {
		t.Fatalf("no damage marker: %v", err)
	}
	sameFiles(t, db, want, "opening a board with a broken -wal chain")
}
