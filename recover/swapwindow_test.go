package recover_test

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/fixtures"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/recover"
	"github.com/ncruces/go-sqlite3"
)

// interruptSwap leaves the fixture board as a swap killed inside its
// commit leaves it: journal written, board blocked, -wal and -shm held
// aside, the replacement not yet renamed in.
func interruptSwap(t *testing.T, f *swapFixture) (db, newPath string) {
	t.Helper()
	dir := t.TempDir()
	db = f.placeBoard(t, dir)
	newPath = f.placeNew(t, filepath.Join(dir, "new.db"))
	ffs := newFaultFS("rename", 2) // the staged file's rename, and every one after
	ffs.sticky = true
	if _, err := recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: newPath, FS: ffs, Now: fixedNow}); err == nil {
		t.Fatal("the simulated crash did not happen")
	}
	if !board.SwapPending(db) {
		t.Fatal("no swap journal after the interrupted commit")
	}
	return db, newPath
}

// checkBlocked: while a swap holds the board's sidecars aside, neither
// Python's sqlite3 nor ours can read (let alone write) the bare db.
func checkBlocked(t *testing.T, db string) {
	t.Helper()
	c, err := openRaw(db)
	if err == nil {
		_, _, err = sqlx.QueryInt(c, "SELECT count(*) FROM tasks")
		c.Close()
	}
	if err == nil {
		t.Errorf("our SQLite read the blocked board")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Log("no python3: Python's view not checked")
		return
	}
	out, err := exec.Command("python3", "-c", `import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=1)
c.execute("INSERT INTO task_comments(task_id, author, body, created_at) VALUES ('t_x', 'py', 'in the window', 1)")
c.commit()
print("wrote")`, db).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "unable to open database file") {
		t.Errorf("python3 on the blocked board: %v: %s", err, out)
	}
}

// TestSwapWindow_diverged: if the block was removed by hand and the bare
// db written, undoing would replay the held -wal over newer pages. The
// resolve keeps the board as it is, puts the held files in the
// quarantine set and says so.
func TestSwapWindow_diverged(t *testing.T) {
	f := getSwapFixture(t)
	db, _ := interruptSwap(t, f)
	if err := os.Remove(db + "-wal"); err != nil { // the block
		t.Fatal(err)
	}
	c, err := openRaw(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Exec("PRAGMA journal_mode=DELETE; CREATE TABLE by_hand(body); INSERT INTO by_hand VALUES ('by hand')"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	_, err = recover.ResolveSwap(ctx(t), recover.SwapOptions{DBPath: db})
	if !errors.Is(err, recover.ErrSwapDiverged) {
		t.Fatalf("resolve = %v, want ErrSwapDiverged", err)
	}
	if board.SwapPending(db) {
		t.Error("the journal is still there")
	}
	sets := quarantineSets(t, db)
	if len(sets) != 1 {
		t.Fatalf("quarantine sets %v", sets)
	}
	held := filepath.Join(filepath.Dir(db), "quarantine", sets[0], "kanban.db-wal")
	if got := sha(t, held); got != sha256hex(f.wal) {
		t.Errorf("the held -wal is not kept byte-identical in %s", held)
	}
	if l := leftovers(db); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
	c = openDB(t, db)
	if n, _, _ := sqlx.QueryInt(c, "SELECT count(*) FROM by_hand"); n != 1 {
		t.Error("the write made on the bare db is gone")
	}
}

// writeFS writes to the board the moment the swap starts to block it:
// the last instant a writer could slip in.
type writeFS struct {
	board.OSFS
	db   string
	done bool
	err  error
}

func (w *writeFS) Mkdir(path string, perm fs.FileMode) error {
	if !w.done {
		w.done = true
		c, err := openRaw(w.db)
		if err == nil {
			err = c.Exec("INSERT INTO task_comments(task_id, author, body, created_at) VALUES ('t_x', 'late', 'slipped in', 1)")
			c.Close()
		}
		w.err = err
	}
	return w.OSFS.Mkdir(path, perm)
}

// TestSwapWindow_lateWrite: a write between the swap's checks and its
// block is caught by hashing the blocked board again: the swap aborts
// with ErrBoardChanged and the board keeps the write.
func TestSwapWindow_lateWrite(t *testing.T) {
	f := getSwapFixture(t)
	dir := t.TempDir()
	db := f.placeBoard(t, dir)
	newPath := f.placeNew(t, filepath.Join(dir, "new.db"))
	wfs := &writeFS{db: db}
	_, err := recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: newPath, FS: wfs, Now: fixedNow})
	if wfs.err != nil || !wfs.done {
		t.Fatalf("the late write: done %v, %v", wfs.done, wfs.err)
	}
	if !errors.Is(err, recover.ErrBoardChanged) {
		t.Fatalf("swap = %v, want ErrBoardChanged", err)
	}
	if l := leftovers(db); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
	if sets := quarantineSets(t, db); len(sets) > 0 {
		t.Errorf("quarantine sets left: %v", sets)
	}
	c := openDB(t, db)
	if n, _, _ := sqlx.QueryInt(c, "SELECT count(*) FROM task_comments WHERE body = 'slipped in'"); n != 1 {
		t.Error("the late write is gone")
	}
	if n, _, _ := sqlx.QueryInt(c, "SELECT count(*) FROM tasks"); n != f.oldTasks {
		t.Errorf("%d tasks, want the original's %d", n, f.oldTasks)
	}
}

// TestSwap_hotJournal is defect T2: a DELETE board whose last writer died
// mid-transaction (a hot -journal next to it). The swap holds the journal
// aside with the other sidecars, so the new board is not "rolled back"
// into the old one, and keeps it in the quarantine set with the db: the
// set opens as the original board. Check and Salvage roll the journal
// back in their copies.
func TestSwap_hotJournal(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("needs python3 to die mid-transaction")
	}
	f := getSwapFixture(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "kanban.db")
	b, err := fixtures.Create(ctx(t), db, fixtures.BoardOptions{Journal: "delete", Seed: 3, Tasks: 40})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Conn.Exec("UPDATE tasks SET body = hex(randomblob(1500))"); err != nil {
		t.Fatal(err)
	}
	want, _, err := sqlx.QueryInt(b.Conn, "SELECT sum(length(body)) FROM tasks")
	if err != nil {
		t.Fatal(err)
	}
	b.Conn.Close()
	out, err := exec.Command("python3", "-c", `import os, signal, sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA cache_size=2")
c.execute("BEGIN IMMEDIATE")
c.execute("UPDATE tasks SET body = body || 'zzzz'")
os.kill(os.getpid(), signal.SIGKILL)`, db).CombinedOutput()
	if fi, serr := os.Stat(db + "-journal"); serr != nil || fi.Size() == 0 {
		t.Fatalf("no hot journal (%v, %v: %s)", serr, err, out)
	}
	chk, err := recover.Check(ctx(t), recover.CheckOptions{DBPath: db, Full: true})
	if err != nil || !chk.Healthy {
		t.Fatalf("check of a board with a hot journal: %v, %+v", err, chk)
	}
	before, err := board.ContentHash(db)
	if err != nil {
		t.Fatal(err)
	}
	newPath := f.placeNew(t, filepath.Join(t.TempDir(), "new.db"))
	rep, err := recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: newPath, Now: fixedNow})
	if err != nil {
		t.Fatalf("swap over a hot journal: %v", err)
	}
	if n := taskCount(t, db); n != f.newTasks {
		t.Errorf("new board has %d tasks, want %d", n, f.newTasks)
	}
	if _, err := os.Stat(db + "-journal"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the old -journal is still next to the new board (%v)", err)
	}
	if l := leftovers(db); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
	if !strings.Contains(rep.Quarantine, before[:8]) {
		t.Errorf("set %s is not named after the content hash with the journal %s", rep.Quarantine, before)
	}
	// The set is the original: db + hot journal, which rolls back.
	kept := filepath.Join(t.TempDir(), "kept.db")
	copyFileT(t, filepath.Join(rep.Quarantine, "kanban.db"), kept)
	copyFileT(t, filepath.Join(rep.Quarantine, "kanban.db-journal"), kept+"-journal")
	c := openDB(t, kept)
	integrityOK(t, c)
	if got, _, err := sqlx.QueryInt(c, "SELECT sum(length(body)) FROM tasks"); err != nil || got != want {
		t.Errorf("quarantined board: bodies total %d (%v), want the committed %d", got, err, want)
	}
}

func sha256hex(b []byte) string {
	dir, _ := os.MkdirTemp("", "sha-*")
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "f")
	_ = os.WriteFile(p, b, 0o600)
	h, _ := board.HashFiles(p)
	return h
}

// openRaw opens path with our SQLite, for a caller that closes it.
func openRaw(path string) (*sqlite3.Conn, error) { return sqlite3.Open(path) }

// noExchangeFS is a file system without RENAME_EXCHANGE (some FUSE and
// network ones): the swap falls back to rename-then-mkdir.
type noExchangeFS struct{ *faultFS }

func (noExchangeFS) Exchange(a, b string) error { return recover.ErrNoExchange }

// TestSwap_noExchange: without RENAME_EXCHANGE a swap still completes, and
// one interrupted in its commit still leaves the board blocked and is
// undone byte-identical.
func TestSwap_noExchange(t *testing.T) {
	f := getSwapFixture(t)
	dir := t.TempDir()
	db := f.placeBoard(t, dir)
	before := hashBoard(t, db)
	newPath := f.placeNew(t, filepath.Join(dir, "new.db"))
	rep, err := recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: newPath, FS: noExchangeFS{newFaultFS("", 0)}, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	checkSwapped(t, f, db, rep, before)

	dir = t.TempDir()
	db = f.placeBoard(t, dir)
	newPath = f.placeNew(t, filepath.Join(dir, "new.db"))
	ffs := newFaultFS("rename", 3) // -wal aside (#1), -shm (#2), the staged file (#3) and on
	ffs.sticky = true
	if _, err := recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: newPath, FS: noExchangeFS{ffs}, Now: fixedNow}); err == nil {
		t.Fatal("the simulated crash did not happen")
	}
	if fi, err := os.Stat(db + "-wal"); err != nil || !fi.IsDir() {
		t.Fatalf("not blocked after the interrupted commit (%v)", err)
	}
	checkBlocked(t, db)
	if note, err := recover.ResolveSwap(ctx(t), recover.SwapOptions{DBPath: db}); err != nil || !strings.Contains(note, "undid") {
		t.Fatalf("resolve = %q, %v", note, err)
	}
	checkUntouched(t, f, db, before)
}
