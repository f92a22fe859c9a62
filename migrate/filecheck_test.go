package migrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// walKanban creates a kanban board in WAL mode at a new path, with a
// WITHOUT ROWID table next to it (an index b-tree that is a table).
func walKanban(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "kanban.db")
	c := openFile(t, db)
	if err := c.Exec("PRAGMA journal_mode=WAL"); err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(context.Background(), c, Options{Now: 1}); err != nil {
		t.Fatal(err)
	}
	if err := c.Exec("CREATE TABLE extra (k TEXT PRIMARY KEY, v) WITHOUT ROWID; INSERT INTO extra VALUES ('a', 1)"); err != nil {
		t.Fatal(err)
	}
	return db
}

func checkFiles(t *testing.T, db string) error {
	t.Helper()
	c, err := sqlite3.OpenFlags(db, sqlite3.OPEN_READWRITE)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Config(sqlite3.DBCONFIG_NO_CKPT_ON_CLOSE, true); err != nil {
		t.Fatal(err)
	}
	if err := c.BusyTimeout(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	return CheckFiles(context.Background(), c, db, true)
}

// TestCheckFiles_rootPages: a healthy board passes; one whose root page
// of task_links is overwritten is a DamageError naming it.
func TestCheckFiles_rootPages(t *testing.T) {
	db := walKanban(t)
	if err := checkFiles(t, db); err != nil {
		t.Fatalf("healthy board: %v", err)
	}
	c := openFile(t, db)
	root, _, err := sqlx.QueryInt(c, "SELECT rootpage FROM sqlite_schema WHERE name = 'task_links'")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	f, err := os.OpenFile(db, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, 4096)
	for i := range junk {
		junk[i] = byte(i*131 + 7)
	}
	if _, err := f.WriteAt(junk, (root-1)*4096); err != nil {
		t.Fatal(err)
	}
	f.Close()
	err = checkFiles(t, db)
	var de *DamageError
	if !errors.As(err, &de) || de.Kind != DamageRootPage || !errors.Is(err, ErrDamaged) {
		t.Fatalf("overwritten root page: %v, want a root-page DamageError", err)
	}
	if want := fmt.Sprintf("the root page of table task_links is damaged: page %d: ", root); len(de.Detail) < len(want) || de.Detail[:len(want)] != want {
		t.Errorf("detail %q, want it to start %q", de.Detail, want)
	}
}

// TestCheckFiles_busyWriter: another process writes as fast as it can,
// with a checkpoint (and so -wal restarts) every few commits, while the
// check runs again and again: it never calls the healthy board damaged.
func TestCheckFiles_busyWriter(t *testing.T) {
	db := walKanban(t)
	stop := filepath.Join(filepath.Dir(db), "stop")
	cmd := exec.Command(os.Args[0], "-test.run=TestHelperWriter")
	cmd.Env = append(os.Environ(), "KANBANSHIM_TEST_WRITER_DB="+db, "KANBANSHIM_TEST_WRITER_STOP="+stop)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		os.WriteFile(stop, nil, 0o644)
		cmd.Wait()
	}()
	checks := 0
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); checks++ {
		if err := checkFiles(t, db); err != nil {
			t.Fatalf("check %d while a writer writes: %v", checks, err)
		}
	}
	os.WriteFile(stop, nil, 0o644)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("writer: %v: %s", err, out.String())
	}
	var n int64
	if _, err := fmt.Sscan(out.String(), &n); err != nil || n < 10 {
		t.Fatalf("the writer committed %q times; want a busy writer", out.String())
	}
	t.Logf("%d checks against %d commits", checks, n)
}

// TestHelperWriter is the busy writer of TestCheckFiles_busyWriter, run
// in its own process: it commits until the stop file appears and prints
// how many commits it made.
func TestHelperWriter(t *testing.T) {
	db := os.Getenv("KANBANSHIM_TEST_WRITER_DB")
	if db == "" {
		t.Skip("helper process")
	}
	c, err := sqlite3.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A tiny page cache makes the larger transactions spill pages into the
	// -wal before their commit and then change them again: SQLite then
	// rewrites those frames in place and fixes their checksums after the
	// commit frame, the window in which a -wal looks broken.
	if err := c.Exec("PRAGMA wal_autocheckpoint=8; PRAGMA busy_timeout=10000; PRAGMA cache_size=5"); err != nil {
		t.Fatal(err)
	}
	n := 0
	for ; ; n++ {
		if _, err := os.Stat(os.Getenv("KANBANSHIM_TEST_WRITER_STOP")); err == nil {
			break
		}
		id := "t_" + strconv.Itoa(n)
		if _, err := sqlx.Exec(c, "INSERT INTO tasks (id, title, status, created_at) VALUES (?, ?, 'ready', 1)", id, id+" padding padding padding"); err != nil {
			t.Fatal(err)
		}
		if _, err := sqlx.Exec(c, "INSERT INTO task_links (parent_id, child_id) VALUES (?, 't_0')", id); err != nil && n > 0 {
			t.Fatal(err)
		}
		if n%10 == 0 {
			if err := c.Exec("BEGIN IMMEDIATE; INSERT INTO task_comments (task_id, author, body, created_at) " +
				"SELECT 't_0', 'w', hex(randomblob(300)), 1 FROM tasks LIMIT 40; " +
				"UPDATE task_comments SET body = hex(randomblob(300)) WHERE id % 7 = 0; COMMIT"); err != nil {
				t.Fatal(err)
			}
		}
	}
	fmt.Println(n)
}

// BenchmarkCheckFiles measures the open-time checks on a board whose -wal
// holds about 100 frames (400 KiB, what wal_autocheckpoint=100 lets grow)
// and 29 b-trees: a read transaction, the -wal scan and one root page per
// b-tree. docs/PERFORMANCE.md has the numbers.
func BenchmarkCheckFiles(b *testing.B) {
	db := filepath.Join(b.TempDir(), "kanban.db")
	c, err := sqlite3.Open(db)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Config(sqlite3.DBCONFIG_NO_CKPT_ON_CLOSE, true); err != nil {
		b.Fatal(err)
	}
	if err := c.Exec("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0"); err != nil {
		b.Fatal(err)
	}
	if _, err := Apply(context.Background(), c, Options{Now: 1}); err != nil {
		b.Fatal(err)
	}
	if err := c.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		b.Fatal(err)
	}
	for i := 0; ; i++ {
		if fi, err := os.Stat(db + "-wal"); err == nil && fi.Size() >= 100*4120 {
			break
		}
		id := "t_" + strconv.Itoa(i)
		if _, err := sqlx.Exec(c, "INSERT INTO tasks (id, title, body, status, created_at) VALUES (?, ?, zeroblob(600), 'ready', 1)", id, id); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if err := CheckFiles(context.Background(), c, db, true); err != nil {
			b.Fatal(err)
		}
	}
}
