package recover_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/recover"
)

// These cases came from a review of the commit's crash and failure
// paths: each failed before its fix.

// TestSwap_noExchangeMkdirFails: without RENAME_EXCHANGE the -wal is
// renamed aside and a directory made in its place; when that mkdir (or
// any other) fails, the held -wal goes back, never into the bin.
func TestSwap_noExchangeMkdirFails(t *testing.T) {
	f := getSwapFixture(t)
	counter := newFaultFS("", 0)
	dir := t.TempDir()
	db := f.placeBoard(t, dir)
	if _, err := recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: f.placeNew(t, filepath.Join(dir, "new.db")), FS: noExchangeFS{counter}, Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= counter.kinds()["mkdir"]; n++ {
		dir := t.TempDir()
		db := f.placeBoard(t, dir)
		before := hashBoard(t, db)
		ffs := newFaultFS("mkdir", n)
		rep, err := recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: f.placeNew(t, filepath.Join(dir, "new.db")), FS: noExchangeFS{ffs}, Now: fixedNow})
		if err == nil || rep.Swapped {
			t.Fatalf("mkdir #%d: err %v, swapped %v", n, err, rep != nil && rep.Swapped)
		}
		checkUntouched(t, f, db, before)
	}
}

// TestSwapWindow_reusedSetStagedGone: the quarantine set is reused
// (kanban's detection snapshot of the same state: a copy, not a link), the
// commit is interrupted, and the staged file disappears before the resolve
// (auto's clean-up, or a user deleting their replacement). The resolve
// must still see that the rename never happened and undo.
func TestSwapWindow_reusedSetStagedGone(t *testing.T) {
	f := getSwapFixture(t)
	dir := t.TempDir()
	db := f.placeBoard(t, dir)
	before := hashBoard(t, db)
	if _, err := board.QuarantineCopy(db, "", "detected", time.Now()); err != nil {
		t.Fatal(err)
	}
	newPath := f.placeNew(t, filepath.Join(dir, "kanban.db.salvage.tmp"))
	ffs := newFaultFS("rename", 2) // the staged file's rename and every one after
	ffs.sticky = true
	rep, err := recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: newPath, FS: ffs, Now: fixedNow})
	if err == nil || !rep.QuarantineReused || !board.SwapPending(db) {
		t.Fatalf("setup: err %v, reused %v, pending %v", err, rep.QuarantineReused, board.SwapPending(db))
	}
	os.Remove(newPath)
	if note, err := recover.ResolveSwap(ctx(t), recover.SwapOptions{DBPath: db}); err != nil || !strings.Contains(note, "undid") {
		t.Fatalf("resolve = %q, %v", note, err)
	}
	if after := hashBoard(t, db); after != before {
		t.Fatalf("board not restored:\n before %v\n after  %v", before, after)
	}
	if n := taskCount(t, db); n != f.oldTasks {
		t.Errorf("board has %d tasks, want %d (the -wal's commits)", n, f.oldTasks)
	}
}

// pendingStuckFS fails the staged file's rename (forcing a rollback) and
// the first removal of the swap journal.
type pendingStuckFS struct {
	board.OSFS
	failed bool
}

func (p *pendingStuckFS) Rename(o, n string) error {
	if strings.HasSuffix(n, "kanban.db") && !p.failed {
		return errInjected
	}
	return p.OSFS.Rename(o, n)
}

func (p *pendingStuckFS) Remove(name string) error {
	if strings.HasSuffix(name, ".swap.pending") && !p.failed {
		p.failed = true
		return errInjected
	}
	return p.OSFS.Remove(name)
}

// TestSwap_rollbackKeepsJournal: a rollback that cannot remove its journal
// keeps the set and staged copy the journal names, so the next resolve
// undoes cleanly instead of mistaking it for a finished swap.
func TestSwap_rollbackKeepsJournal(t *testing.T) {
	f := getSwapFixture(t)
	dir := t.TempDir()
	db := f.placeBoard(t, dir)
	before := hashBoard(t, db)
	newPath := f.placeNew(t, filepath.Join(t.TempDir(), "elsewhere", "new.db"))
	rep, err := recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: newPath, FS: &pendingStuckFS{}, Now: fixedNow})
	if !errors.Is(err, errInjected) || rep.Swapped || !board.SwapPending(db) {
		t.Fatalf("setup: err %v, pending %v", err, board.SwapPending(db))
	}
	if note, err := recover.ResolveSwap(ctx(t), recover.SwapOptions{DBPath: db}); err != nil || note == "" {
		t.Fatalf("resolve = %q, %v", note, err)
	}
	checkUntouched(t, f, db, before)
}

// journalStuckFS fails every removal of the swap journal.
type journalStuckFS struct{ board.OSFS }

func (journalStuckFS) Remove(name string) error {
	if strings.HasSuffix(name, ".swap.pending") {
		return errInjected
	}
	return os.Remove(name)
}

// TestSwapWindow_resolveInterrupted: a resolve that undid everything but
// died before removing the journal (its staged copy already gone) is
// resolved again by the next run, not taken for a finished swap.
func TestSwapWindow_resolveInterrupted(t *testing.T) {
	f := getSwapFixture(t)
	dir := t.TempDir()
	db := f.placeBoard(t, dir)
	before := hashBoard(t, db)
	ffs := newFaultFS("rename", 2)
	ffs.sticky = true
	if _, err := recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: f.placeNew(t, filepath.Join(t.TempDir(), "x", "new.db")), FS: ffs, Now: fixedNow}); err == nil {
		t.Fatal("the simulated crash did not happen")
	}
	if _, err := recover.ResolveSwap(ctx(t), recover.SwapOptions{DBPath: db, FS: journalStuckFS{}}); !errors.Is(err, errInjected) {
		t.Fatalf("first resolve = %v, want the injected failure", err)
	}
	if _, err := recover.ResolveSwap(ctx(t), recover.SwapOptions{DBPath: db}); err != nil {
		t.Fatalf("second resolve: %v", err)
	}
	checkUntouched(t, f, db, before)
}

// TestSwapWindow_peerWriteBeforeBlock: a swap killed after its journal but
// before the block; a Python peer (which ignores the journal) writes. The
// resolve keeps the write and does not call it diverged: nothing was held.
func TestSwapWindow_peerWriteBeforeBlock(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("needs python3")
	}
	f := getSwapFixture(t)
	dir := t.TempDir()
	db := f.placeBoard(t, dir)
	ffs := newFaultFS("mkdir", 3) // quarantine (2), then the block's first mkdir
	ffs.sticky = true
	if _, err := recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: f.placeNew(t, filepath.Join(dir, "new.db")), FS: ffs, Now: fixedNow}); err == nil {
		t.Fatal("the simulated crash did not happen")
	}
	if fi, err := os.Stat(db + "-wal"); err != nil || fi.IsDir() {
		t.Fatalf("setup: the board should not be blocked yet (%v)", err)
	}
	if !board.SwapPending(db) {
		t.Skip("the fault landed after the journal was removed; nothing to resolve")
	}
	out, err := exec.Command("python3", "-c", `import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("INSERT INTO task_comments(task_id, author, body, created_at) VALUES ('t_x', 'py', 'peer', 1)")
c.commit(); c.close()`, db).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v %s", err, out)
	}
	if _, err := recover.ResolveSwap(ctx(t), recover.SwapOptions{DBPath: db}); err != nil {
		t.Fatalf("resolve: %v", err)
	}
	c := openDB(t, db)
	integrityOK(t, c)
}

// syncAfterRenameFS fails the first directory fsync after the staged
// file was renamed over the board.
type syncAfterRenameFS struct {
	board.OSFS
	renamed, failed bool
}

func (s *syncAfterRenameFS) Rename(o, n string) error {
	err := s.OSFS.Rename(o, n)
	if err == nil && strings.HasSuffix(n, "kanban.db") {
		s.renamed = true
	}
	return err
}

func (s *syncAfterRenameFS) SyncDir(dir string) error {
	if s.renamed && !s.failed {
		s.failed = true
		return errInjected
	}
	return s.OSFS.SyncDir(dir)
}

// TestSwap_fsyncAfterRenameUnblocks: a failed fsync after the commit
// point is reported, but the board is not left blocked: Python can open
// the new board at once.
func TestSwap_fsyncAfterRenameUnblocks(t *testing.T) {
	f := getSwapFixture(t)
	dir := t.TempDir()
	db := f.placeBoard(t, dir)
	rep, err := recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: f.placeNew(t, filepath.Join(dir, "new.db")), FS: &syncAfterRenameFS{}, Now: fixedNow})
	if !errors.Is(err, errInjected) || !rep.Swapped {
		t.Fatalf("err %v, swapped %v", err, rep.Swapped)
	}
	if fi, err := os.Stat(db + "-wal"); err == nil && fi.IsDir() {
		t.Fatal("the new board is still blocked")
	}
	if n := taskCount(t, db); n != f.newTasks {
		t.Errorf("%d tasks, want the replacement's %d", n, f.newTasks)
	}
}
