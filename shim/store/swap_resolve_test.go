package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/fixtures"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// walBoard writes, at dir/kanban.db, a WAL board of 16 tasks whose last
// 4 are committed only in its -wal, and returns its path.
func walBoard(t *testing.T, dir string) string {
	t.Helper()
	ctx := context.Background()
	b, err := fixtures.Create(ctx, filepath.Join(t.TempDir(), "src.db"), fixtures.BoardOptions{Journal: "wal", Seed: 7, Tasks: 12})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Conn.Close()
	if err := b.Conn.WALAutoCheckpoint(0); err != nil {
		t.Fatal(err)
	}
	if err := b.AddTasks(4, 1); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "kanban.db")
	for _, suf := range []string{"", board.WALSuffix, board.SHMSuffix} {
		data, err := os.ReadFile(b.Path + suf)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(db+suf, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if fi, err := os.Stat(board.WAL(db)); err != nil || fi.Size() == 0 {
		t.Fatalf("the fixture's -wal is empty (%v)", err)
	}
	return db
}

// interruptCommit leaves db as a kanban-recover swap killed inside its
// commit leaves it: the original linked into a quarantine set, a
// replacement staged, the journal written and the board blocked (its
// sidecars held aside). With renamed, the crash came right after the
// commit point: the replacement is already the db.
func interruptCommit(t *testing.T, db string, renamed bool) (set string) {
	t.Helper()
	ctx := context.Background()
	nb, err := fixtures.Create(ctx, filepath.Join(t.TempDir(), "new.db"), fixtures.BoardOptions{Journal: "wal", Seed: 8, Tasks: 5})
	if err != nil {
		t.Fatal(err)
	}
	nb.Conn.Close()
	staged := board.SwapStagedPath(db)
	if err := board.CopyInto(board.OSFS{}, nb.Path, staged); err != nil {
		t.Fatal(err)
	}
	sum, err := board.ContentHash(db)
	if err != nil {
		t.Fatal(err)
	}
	qdir := board.Quarantine.DefaultDir(db)
	set = board.Quarantine.NewPath(qdir, db, time.Unix(fixtures.Epoch, 0), sum, "")
	if err := os.MkdirAll(set, 0o755); err != nil {
		t.Fatal(err)
	}
	linked := filepath.Join(set, filepath.Base(db))
	if err := os.Link(db, linked); err != nil {
		t.Fatal(err)
	}
	j := board.SwapJournal{Set: set, Added: []string{linked}, Staged: staged, Copied: true}
	if err := board.WriteSwapJournal(board.OSFS{}, db, j); err != nil {
		t.Fatal(err)
	}
	if err := board.Block(board.OSFS{}, db); err != nil {
		t.Fatal(err)
	}
	if renamed {
		if err := os.Rename(staged, db); err != nil {
			t.Fatal(err)
		}
	}
	return set
}

// TestOpen_resolvesInterruptedSwap (defect T1): a swap killed with the
// board blocked. A read-only open refuses, naming the fix; an ordinary
// open undoes the swap with kanban-recover's own code (the -wal back in
// place, the set's alias of the live db gone), sees every committed task,
// and its writes land on the board.
func TestOpen_resolvesInterruptedSwap(t *testing.T) {
	dir := t.TempDir()
	db := walBoard(t, dir)
	set := interruptCommit(t, db, false)
	if c, err := sqlite3.OpenFlags(db, sqlite3.OPEN_READWRITE); err == nil {
		_, _, err = sqlx.QueryInt(c, "SELECT count(*) FROM tasks")
		c.Close()
		if err == nil {
			t.Fatal("SQLite read the blocked board")
		}
	}

	ro := testOpts(dir, "3.40.1")
	ro.ReadOnly = true
	_, err := Open(context.Background(), db, ro)
	var pe *SwapPendingError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "kanban-recover auto --db "+db) {
		t.Fatalf("read-only open: %v, want a SwapPendingError naming the fix", err)
	}

	s := openTest(t, db, testOpts(dir, "3.40.1"))
	if board.SwapPending(db) {
		t.Fatal("the journal outlived the resolving open")
	}
	tasks, err := s.ListTasks(ListFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 16 {
		t.Fatalf("kanban sees %d tasks, want all 16 (the -wal's commits included)", len(tasks))
	}
	for i := range 20 {
		if _, err := s.AddComment(context.Background(), tasks[0].ID, "bob", fmt.Sprintf("after %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{board.SwapStagedPath(db), set, board.HoldPath(db, board.WALSuffix)} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s left behind by the undo", p)
		}
	}
	c, err := sqlite3.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if msgs, err := sqlx.QueryStrings(c, "PRAGMA integrity_check"); err != nil || len(msgs) != 1 || msgs[0] != "ok" {
		t.Fatalf("integrity_check %q %v", msgs, err)
	}
	if n, _, err := sqlx.QueryInt(c, "SELECT count(*) FROM task_comments WHERE body LIKE 'after %'"); err != nil || n != 20 {
		t.Fatalf("%d of 20 acknowledged comments survived (%v)", n, err)
	}
}

// TestOpen_finishesCommittedSwap: a swap killed right after its commit
// point. kanban's open finishes it: the replacement is the board, the
// original's held sidecars join its set, and the set is marked as
// holding the original (pruning keeps it).
func TestOpen_finishesCommittedSwap(t *testing.T) {
	dir := t.TempDir()
	db := walBoard(t, dir)
	wal, err := os.ReadFile(board.WAL(db))
	if err != nil {
		t.Fatal(err)
	}
	set := interruptCommit(t, db, true)
	s := openTest(t, db, testOpts(dir, "3.40.1"))
	tasks, err := s.ListTasks(ListFilter{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if len(tasks) != 5 || board.SwapPending(db) {
		t.Fatalf("%d tasks (want the replacement's 5), journal left %v", len(tasks), board.SwapPending(db))
	}
	kept, err := os.ReadFile(filepath.Join(set, "kanban.db-wal"))
	if err != nil || string(kept) != string(wal) {
		t.Fatalf("the original -wal is not kept byte-identical in %s (%v)", set, err)
	}
	sets, err := board.Quarantine.List(filepath.Dir(set), db)
	if err != nil || len(sets) != 1 || !sets[0].Original {
		t.Fatalf("sets %+v (%v), want one marked as holding the original", sets, err)
	}
}
