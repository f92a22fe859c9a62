package recover_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/fixtures"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/recover"
)

// swapFixture is a WAL board whose latest commits are only in its -wal
// (with a current -shm), and a different, healthy replacement board.
type swapFixture struct {
	db, wal, shm       []byte
	newDB              []byte
	oldTasks, newTasks int64
}

var swapFix struct {
	once sync.Once
	f    swapFixture
	err  error
}

func getSwapFixture(t *testing.T) *swapFixture {
	t.Helper()
	swapFix.once.Do(func() { swapFix.err = buildSwapFixture(&swapFix.f) })
	if swapFix.err != nil {
		t.Fatal(swapFix.err)
	}
	return &swapFix.f
}

func buildSwapFixture(f *swapFixture) error {
	ctx := t0ctx()
	dir, err := os.MkdirTemp("", "swap-fixture-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b, err := fixtures.Create(ctx, filepath.Join(dir, "old.db"), fixtures.BoardOptions{Journal: "wal", Seed: 7, Tasks: 12})
	if err != nil {
		return err
	}
	if err := b.Conn.WALAutoCheckpoint(0); err != nil {
		return err
	}
	if err := b.AddTasks(4, 1); err != nil {
		return err
	}
	for p, dst := range map[string]*[]byte{b.Path: &f.db, b.Path + "-wal": &f.wal, b.Path + "-shm": &f.shm} {
		if *dst, err = os.ReadFile(p); err != nil {
			return err
		}
	}
	b.Conn.Close()
	if len(f.wal) == 0 {
		return errors.New("fixture -wal is empty")
	}
	nb, err := fixtures.Create(ctx, filepath.Join(dir, "new.db"), fixtures.BoardOptions{Journal: "wal", Seed: 8, Tasks: 5})
	if err != nil {
		return err
	}
	nb.Conn.Close()
	if f.newDB, err = os.ReadFile(nb.Path); err != nil {
		return err
	}
	f.oldTasks, f.newTasks = 16, 5
	return nil
}

// placeBoard writes the fixture's board as dir/kanban.db (+ -wal, -shm).
func (f *swapFixture) placeBoard(t *testing.T, dir string) string {
	t.Helper()
	db := filepath.Join(dir, "kanban.db")
	for suf, b := range map[string][]byte{"": f.db, "-wal": f.wal, "-shm": f.shm} {
		if err := os.WriteFile(db+suf, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func (f *swapFixture) placeNew(t *testing.T, path string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, f.newDB, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// taskCount opens a copy of the board (db, -wal, -shm), quick_checks it
// and counts its tasks, leaving the board's own files alone.
func taskCount(t *testing.T, db string) int64 {
	t.Helper()
	dir := t.TempDir()
	cp := filepath.Join(dir, "copy.db")
	for _, suf := range []string{"", "-wal", "-shm"} {
		if _, err := os.Stat(db + suf); err == nil {
			copyFileT(t, db+suf, cp+suf)
		}
	}
	c := openDB(t, cp)
	if msgs, err := sqlx.QueryStrings(c, "PRAGMA quick_check"); err != nil || len(msgs) != 1 || msgs[0] != "ok" {
		t.Fatalf("%s: quick_check %q %v", db, msgs, err)
	}
	n, _, err := sqlx.QueryInt(c, "SELECT count(*) FROM tasks")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func sha(t *testing.T, path string) string {
	t.Helper()
	return hashBoard(t, path)[0]
}

// leftovers lists swap files that must not outlive a swap.
func leftovers(db string) []string {
	var out []string
	for _, suf := range []string{".swap.tmp", ".swap.pending", ".swap-wal", ".swap-shm", ".swap-journal"} {
		if _, err := os.Lstat(db + suf); err == nil {
			out = append(out, filepath.Base(db+suf))
		}
	}
	if fi, err := os.Lstat(db + "-wal"); err == nil && fi.IsDir() {
		out = append(out, filepath.Base(db)+"-wal (the swap's block)")
	}
	return out
}

func quarantineSets(t *testing.T, db string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(filepath.Dir(db), "quarantine"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// TestSwap_faults fails every file-system call the swap makes, one at a
// time (the Nth rename, link, fsync, write of the copy, …), with the
// replacement elsewhere (copied next to the board) and in the board's
// directory (renamed directly). Whenever the swap did not reach its final
// rename the original db, -wal and -shm are byte-identical, openable,
// with no swap files or quarantine links left; when it did, the new board
// is live and the original is kept, byte-identical, in quarantine.
func TestSwap_faults(t *testing.T) {
	f := getSwapFixture(t)
	for _, variant := range []string{"elsewhere", "samedir"} {
		counter := newFaultFS("", 0)
		setup := func(t *testing.T) (db, newPath string) {
			dir := t.TempDir()
			db = f.placeBoard(t, filepath.Join(dir))
			newPath = filepath.Join(dir, "new.db")
			if variant == "elsewhere" {
				newPath = filepath.Join(t.TempDir(), "elsewhere", "new.db")
			}
			return db, f.placeNew(t, newPath)
		}
		t.Run(variant+"/clean", func(t *testing.T) {
			db, newPath := setup(t)
			before := hashBoard(t, db)
			rep, err := recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: newPath, FS: counter, Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			checkSwapped(t, f, db, rep, before)
			if rep.Copied != (variant == "elsewhere") {
				t.Errorf("Copied = %v", rep.Copied)
			}
		})
		counts := counter.kinds()
		for _, kind := range []string{"rename", "link", "sync", "syncdir", "write", "open"} {
			if counts[kind] == 0 && !(kind == "write" && variant == "samedir") {
				t.Errorf("%s: the swap made no %q call", variant, kind)
			}
		}
		for _, kind := range sortedKinds(counts) {
			for n := 1; n <= counts[kind]; n++ {
				t.Run(fmt.Sprintf("%s/%s#%d", variant, kind, n), func(t *testing.T) {
					t.Parallel()
					db, newPath := setup(t)
					before := hashBoard(t, db)
					ffs := newFaultFS(kind, n)
					rep, err := recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: newPath, FS: ffs, Now: fixedNow})
					if !ffs.tripped {
						t.Fatalf("the fault was never reached (calls %v)", ffs.kinds())
					}
					if rep != nil && rep.Swapped {
						// A failure after the commit point leaves at most a
						// journal that the next run finishes.
						if err != nil || board.SwapPending(db) {
							t.Logf("swapped; err %v; notes %q", err, rep.Notes)
							if _, err := recover.ResolveSwap(ctx(t), recover.SwapOptions{DBPath: db}); err != nil {
								t.Fatalf("resolve: %v", err)
							}
						}
						checkSwapped(t, f, db, rep, before)
						return
					}
					if err == nil {
						t.Fatal("not swapped, but no error")
					}
					if !errors.Is(err, errInjected) {
						t.Errorf("err = %v, want the injected fault", err)
					}
					checkUntouched(t, f, db, before)
					if variant == "samedir" && sha(t, newPath) == "" {
						t.Errorf("the replacement %s is gone", newPath)
					}
				})
			}
		}
	}
}

// checkUntouched: the original board is exactly as before and readable,
// and the failed swap left nothing behind.
func checkUntouched(t *testing.T, f *swapFixture, db string, before [3]string) {
	t.Helper()
	if after := hashBoard(t, db); after != before {
		t.Fatalf("original changed:\n before %v\n after  %v", before, after)
	}
	if l := leftovers(db); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
	if sets := quarantineSets(t, db); len(sets) > 0 {
		t.Errorf("quarantine sets left by a failed swap: %v", sets)
	}
	if n := taskCount(t, db); n != f.oldTasks {
		t.Errorf("original has %d tasks, want %d", n, f.oldTasks)
	}
}

// checkSwapped: the new board is live and healthy, the original is in one
// quarantine set, byte-identical, and no swap files are left.
func checkSwapped(t *testing.T, f *swapFixture, db string, rep *recover.SwapReport, before [3]string) {
	t.Helper()
	if n := taskCount(t, db); n != f.newTasks {
		t.Errorf("live board has %d tasks, want the replacement's %d", n, f.newTasks)
	}
	if l := leftovers(db); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
	sets := quarantineSets(t, db)
	if len(sets) != 1 || filepath.Join(filepath.Dir(db), "quarantine", sets[0]) != rep.Quarantine {
		t.Fatalf("quarantine sets %v, report says %q", sets, rep.Quarantine)
	}
	kept := hashBoard(t, filepath.Join(rep.Quarantine, "kanban.db"))
	if kept[0] != before[0] || kept[1] != before[1] {
		t.Errorf("quarantined db/-wal differ from the original")
	}
	for _, suf := range []string{"-wal", "-shm"} {
		if fi, err := os.Stat(db + suf); err == nil && fi.Size() > 0 {
			t.Errorf("the original %s is still next to the new board", suf)
		}
	}
	if got := rep.OriginalSHA256; got == "" || !strings.Contains(rep.Quarantine, got[:8]) {
		t.Errorf("set %s is not named after the content hash %s", rep.Quarantine, got)
	}
}

// TestSwap_interruptedCommit: a crash after the sidecars were moved aside
// but before the rename (simulated by failing everything from the final
// rename on) leaves a journal; Check calls the board damaged, and
// ResolveSwap puts the original back byte-identical.
func TestSwap_interruptedCommit(t *testing.T) {
	f := getSwapFixture(t)
	dir := t.TempDir()
	db := f.placeBoard(t, dir)
	newPath := f.placeNew(t, filepath.Join(dir, "new.db"))
	before := hashBoard(t, db)
	// Fail every rename from the final one on: the -wal is exchanged
	// with the blocking directory, the -shm renamed aside (rename #1),
	// then the staged file would be renamed in (#2).
	ffs := newFaultFS("rename", 2)
	ffs.sticky = true
	rep, err := recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: newPath, FS: ffs, Now: fixedNow})
	if err == nil || rep.Swapped {
		t.Fatalf("swap err = %v, swapped = %v", err, rep != nil && rep.Swapped)
	}
	if !board.SwapPending(db) {
		t.Fatal("no swap journal after an interrupted commit")
	}
	if fi, err := os.Stat(db + "-wal"); err != nil || !fi.IsDir() {
		t.Fatalf("the board should be blocked (its -wal name a directory) in this state (%v)", err)
	}
	checkBlocked(t, db)
	chk, err := recover.Check(ctx(t), recover.CheckOptions{DBPath: db})
	if err != nil || chk.Healthy || !chk.Has(recover.KindSwapPending) {
		t.Fatalf("check of an interrupted swap: %+v, %v", chk, err)
	}
	note, err := recover.ResolveSwap(ctx(t), recover.SwapOptions{DBPath: db})
	if err != nil || !strings.Contains(note, "undid") {
		t.Fatalf("resolve = %q, %v", note, err)
	}
	checkUntouched(t, f, db, before)
	if _, err := os.Stat(newPath); err != nil {
		t.Errorf("the replacement is gone: %v", err)
	}
	// A normal swap goes through afterwards.
	rep, err = recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: newPath, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	checkSwapped(t, f, db, rep, before)
}

// TestSwap_refusals: a replacement that is not a current kanban board, the
// board itself, a board held open by another process (named), one held
// open by a kanbanshim connection (the open guard), and one under another
// maintenance are all refused, the board untouched.
func TestSwap_refusals(t *testing.T) {
	f := getSwapFixture(t)
	dir := t.TempDir()
	db := f.placeBoard(t, dir)
	before := hashBoard(t, db)
	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 100)), 0o644)
	empty := filepath.Join(dir, "empty.db")
	c := openDB(t, empty)
	if err := c.Exec("CREATE TABLE t (x)"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	for _, c := range []struct {
		name, newPath string
		want          error
	}{
		{"garbage", garbage, recover.ErrNewInvalid},
		{"not kanban", empty, recover.ErrNewInvalid},
		{"missing", filepath.Join(dir, "nope.db"), recover.ErrNewInvalid},
		{"itself", db, recover.ErrSameFile},
		{"its wal", db + "-wal", recover.ErrNewInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: c.newPath})
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			checkUntouched(t, f, db, before)
		})
	}
	t.Run("in the quarantine", func(t *testing.T) {
		qdir := t.TempDir()
		kept := f.placeNew(t, filepath.Join(qdir, "20260101T000000Z-12345678", "kanban.db"))
		_, err := recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: kept, QuarantineDir: qdir})
		if !errors.Is(err, recover.ErrNewInvalid) || !strings.Contains(err.Error(), "copy it out first") {
			t.Fatalf("err = %v, want a refusal to verify a quarantined file in place", err)
		}
		checkUntouched(t, f, db, before)
	})
	newPath := f.placeNew(t, filepath.Join(t.TempDir(), "new.db"))

	t.Run("open by another process", func(t *testing.T) {
		fd, err := os.Open(db)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sleep", "30")
		cmd.Stdin = fd
		if err := cmd.Start(); err != nil {
			t.Skip("no sleep command:", err)
		}
		fd.Close()
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		_, err = recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: newPath})
		var be *recover.BoardBusyError
		if !errors.As(err, &be) || !errors.Is(err, recover.ErrBoardBusy) {
			t.Fatalf("err = %v, want a BoardBusyError", err)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("pid %d (sleep 30)", cmd.Process.Pid)) {
			t.Errorf("the holder is not named: %v", err)
		}
		checkUntouched(t, f, db, before)
	})

	t.Run("open guard held", func(t *testing.T) {
		g, err := lockd.HoldOpen(ctx(t), db)
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		_, err = recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: newPath})
		if !errors.Is(err, recover.ErrBoardBusy) || !strings.Contains(err.Error(), "kanbanshim") {
			t.Fatalf("err = %v, want busy naming a kanbanshim process", err)
		}
		checkUntouched(t, f, db, before)
	})

	t.Run("maintenance", func(t *testing.T) {
		l := lockd.NewLease(db)
		if err := l.AcquireMaintenance(ctx(t), "kanban-migrate", "apply", time.Second); err != nil {
			t.Fatal(err)
		}
		defer l.Release()
		_, err := recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: newPath, LeaseTimeout: 100 * time.Millisecond})
		if !errors.Is(err, lockd.ErrMaintenance) {
			t.Fatalf("err = %v, want ErrMaintenance", err)
		}
		checkUntouched(t, f, db, before)
	})

	t.Run("forced past an opener", func(t *testing.T) {
		fd, err := os.Open(db)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sleep", "30")
		cmd.Stdin = fd
		if err := cmd.Start(); err != nil {
			t.Skip("no sleep command:", err)
		}
		fd.Close()
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		rep, err := recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: newPath, Force: true, Now: fixedNow})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Forced) != 1 || rep.Forced[0].PID != cmd.Process.Pid {
			t.Errorf("forced past %+v", rep.Forced)
		}
		checkSwapped(t, f, db, rep, before)
	})
}

// TestSwap_quarantine: a set kanban already wrote for the same state (its
// detection snapshot) is reused rather than duplicated and then marked as
// holding the original; the database's old sets beyond ten (here sets
// written by an earlier version, attributed by the db file inside) are
// pruned, never the one just used, and never another database's; a
// DELETE-mode board stays in DELETE mode.
func TestSwap_quarantine(t *testing.T) {
	f := getSwapFixture(t)
	dir := t.TempDir()
	db := f.placeBoard(t, dir)
	before := hashBoard(t, db)
	qdir := filepath.Join(dir, "quarantine")
	detected, err := board.QuarantineCopy(db, qdir, "detected", time.Unix(fixtures.Epoch, 0))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 11; i++ {
		for _, name := range []string{"kanban.db", "other.db"} {
			set := filepath.Join(qdir, fmt.Sprintf("2020%02d%02dT000000Z-0000000%d-detected", len(name), i+1, i%10))
			if err := os.MkdirAll(set, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(set, name), []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	newPath := f.placeNew(t, filepath.Join(t.TempDir(), "new.db"))
	rep, err := recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: newPath, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.QuarantineReused || rep.Quarantine != detected {
		t.Errorf("quarantine = %s (reused %v), want kanban's %s", rep.Quarantine, rep.QuarantineReused, detected)
	}
	sets, _ := board.Quarantine.List(qdir, db)
	others, _ := board.Quarantine.List(qdir, filepath.Join(dir, "other.db"))
	if len(sets) != board.QuarantineKeep || len(rep.Pruned) != 2 || len(others) != 11 {
		t.Errorf("sets after pruning: %d of this db, %d of another (pruned %v)", len(sets), len(others), rep.Pruned)
	}
	if _, err := os.Stat(detected); err != nil {
		t.Errorf("the set in use was pruned: %v", err)
	}
	if last := sets[len(sets)-1]; last.Path != detected || !last.Original {
		t.Errorf("newest set %+v, want %s marked as holding the original", last, detected)
	}
	kept := hashBoard(t, filepath.Join(detected, "kanban.db"))
	if kept[0] != before[0] || kept[1] != before[1] {
		t.Errorf("the reused set does not hold the original")
	}
	if taskCount(t, db) != f.newTasks {
		t.Errorf("not swapped")
	}

	// DELETE mode is kept.
	ddir := t.TempDir()
	b, err := fixtures.Create(ctx(t), filepath.Join(ddir, "kanban.db"), fixtures.BoardOptions{Seed: 3, Tasks: 3})
	if err != nil {
		t.Fatal(err)
	}
	b.Conn.Close()
	rep, err = recover.Swap(ctx(t), recover.SwapOptions{DBPath: b.Path, NewPath: f.placeNew(t, filepath.Join(t.TempDir(), "n.db")), Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	c := openDB(t, b.Path)
	if mode, _, _ := sqlx.QueryText(c, "PRAGMA journal_mode"); mode != "delete" || rep.JournalMode != "delete" {
		t.Errorf("journal mode = %q (report %q), want delete", mode, rep.JournalMode)
	}
}

func t0ctx() context.Context { return context.Background() }

// TestSwap_boardChanged: a board written since its hash was taken (Auto
// hashes before it salvages) is not swapped: the salvage would lose the
// writes.
func TestSwap_boardChanged(t *testing.T) {
	f := getSwapFixture(t)
	dir := t.TempDir()
	db := f.placeBoard(t, dir)
	before := hashBoard(t, db)
	newPath := f.placeNew(t, filepath.Join(dir, "new.db"))
	_, err := recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: newPath, ExpectHash: strings.Repeat("0", 64)})
	if !errors.Is(err, recover.ErrBoardChanged) {
		t.Fatalf("err = %v, want ErrBoardChanged", err)
	}
	checkUntouched(t, f, db, before)
	sum, err := board.ContentHash(db)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: newPath, ExpectHash: sum, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	checkSwapped(t, f, db, rep, before)
}

// TestAuto_resolvesInterruptedSwap: Auto first undoes a swap a crash cut
// short (the board's -wal held aside), then finds the board healthy.
func TestAuto_resolvesInterruptedSwap(t *testing.T) {
	f := getSwapFixture(t)
	dir := t.TempDir()
	db := f.placeBoard(t, dir)
	before := hashBoard(t, db)
	ffs := newFaultFS("rename", 2)
	ffs.sticky = true
	if _, err := recover.Swap(ctx(t), recover.SwapOptions{DBPath: db, NewPath: f.placeNew(t, filepath.Join(dir, "new.db")), FS: ffs}); err == nil {
		t.Fatal("the simulated crash did not happen")
	}
	rep, err := recover.Auto(ctx(t), recover.AutoOptions{DBPath: db, Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status != recover.StatusHealthy || len(rep.Notes) == 0 || !strings.Contains(rep.Notes[0], "undid an interrupted swap") {
		t.Fatalf("status %s, notes %q", rep.Status, rep.Notes)
	}
	checkUntouched(t, f, db, before)
}
