package board

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/internal/pypeer"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// hotBoard makes a rollback-mode database with 20 comments on t_1 and
// lets a Python writer die in the middle of a transaction that spilled
// 200 more into the file: a hot -journal is left behind.
func hotBoard(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "kanban.db")
	c, err := sqlite3.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Exec(`CREATE TABLE task_comments (id INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT NOT NULL,
		author TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if _, err := sqlx.Exec(c, "INSERT INTO task_comments (task_id, author, body, created_at) VALUES ('t_1', 'a', 'committed', 1)"); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	p, err := pypeer.New(dir, db)
	if errors.Is(err, pypeer.ErrNoPython) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := p.DieInTxn(context.Background(), "t_1", 200); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(Journal(db)); err != nil || fi.Size() == 0 {
		t.Fatalf("no -journal after the writer died: %v", err)
	}
	return db
}

// TestCopyHotJournal: a hot -journal is found, copied with the db under
// SQLite's SHARED lock, and rolled back in the copy (20 comments, intact)
// while the board's db and -journal stay byte-identical.
func TestCopyHotJournal(t *testing.T) {
	db := hotBoard(t)
	before, _ := os.ReadFile(db)
	jBefore, _ := os.ReadFile(Journal(db))
	if hot, err := HotJournal(db); !hot || err != nil {
		t.Fatalf("HotJournal = %v, %v", hot, err)
	}
	copied, err := CopyHotJournal(db, t.TempDir(), time.Second)
	if err != nil || copied == "" {
		t.Fatalf("CopyHotJournal = %q, %v", copied, err)
	}
	c, err := sqlite3.OpenFlags(copied, sqlite3.OPEN_READWRITE)
	if err != nil {
		t.Fatal(err)
	}
	n, _, err := sqlx.QueryInt(c, "SELECT count(*) FROM task_comments")
	ok, _, err2 := sqlx.QueryText(c, "PRAGMA integrity_check")
	c.Close()
	if err != nil || err2 != nil || n != 20 || ok != "ok" {
		t.Fatalf("the copy rolled back: %d comments, integrity %q (%v, %v); want 20, ok", n, ok, err, err2)
	}
	after, _ := os.ReadFile(db)
	jAfter, _ := os.ReadFile(Journal(db))
	if !bytes.Equal(before, after) || !bytes.Equal(jBefore, jAfter) {
		t.Fatal("the board's db or -journal changed")
	}
}

// TestHotJournal_liveWriter: a -journal of a writer that is alive (it
// holds SQLite's RESERVED lock) is not hot.
func TestHotJournal_liveWriter(t *testing.T) {
	db := filepath.Join(t.TempDir(), "kanban.db")
	c, err := sqlite3.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Exec("CREATE TABLE x (v); INSERT INTO x VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if err := c.Exec("BEGIN IMMEDIATE; INSERT INTO x VALUES (2)"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(Journal(db)); err != nil {
		t.Fatalf("no -journal during a write: %v", err)
	}
	if hot, err := HotJournal(db); hot || err != nil {
		t.Fatalf("a live writer's -journal: HotJournal = %v, %v", hot, err)
	}
	if err := c.Exec("ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if hot, err := HotJournal(db); hot || err != nil {
		t.Fatalf("no -journal: HotJournal = %v, %v", hot, err)
	}
}
