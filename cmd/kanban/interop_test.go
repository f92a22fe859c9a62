package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/pypeer"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/lockd"
)

// journalModes are the two modes every lock test runs in.
var journalModes = []string{"delete", "wal"}

// TestInterop_PythonAndKanban has a Python writer (upstream's PRAGMAs,
// BEGIN IMMEDIATE with its 5x retry, its statement shapes; none of our
// locks) and kanban processes write one board at the same time, in
// DELETE and in WAL mode. Each side comments on tasks the other created,
// so each must see the other's rows while both write; afterwards every
// row is there, both SQLites say integrity_check ok, and the journal mode
// is unchanged.
func TestInterop_PythonAndKanban(t *testing.T) {
	const workers, perWorker, pyWrites = 4, 15, 30
	for _, mode := range journalModes {
		t.Run(mode, func(t *testing.T) {
			b := newTestBoard(t, mode)
			peer := newPeer(t, b.db)
			ctx := t.Context()
			// Seed one task per side, so both have a foreign task to
			// comment on from their first comment.
			kanbanSeed := b.createTask(t, "kanban seed")
			seed, err := peer.Work(ctx, pypeer.WorkOptions{Writes: 1, Tag: "py"})
			if err != nil {
				t.Fatal(err)
			}
			run, err := peer.Start(ctx, pypeer.WorkOptions{Writes: pyWrites, Tag: "py", ForeignComments: true})
			if err != nil {
				t.Fatal(err)
			}
			c := openDB(t, b.db)
			var mu sync.Mutex // c is one connection; the workers share it
			pyTask := func() (string, error) {
				mu.Lock()
				defer mu.Unlock()
				id, _, err := sqlx.QueryText(c, "SELECT id FROM tasks WHERE created_by = 'py' ORDER BY random() LIMIT 1")
				return id, err
			}
			var wg sync.WaitGroup
			var kanbanIDs []string
			var bad []result
			var errs []error
			for w := range workers {
				wg.Go(func() {
					ids, failed, err := kanbanWorker(ctx, b, w, perWorker, pyTask)
					mu.Lock()
					defer mu.Unlock()
					kanbanIDs, bad, errs = append(kanbanIDs, ids...), append(bad, failed...), append(errs, err)
				})
			}
			wg.Wait()
			py, pyErr := run.Wait()
			if err := errors.Join(append(errs, pyErr)...); err != nil {
				t.Fatal(err)
			}
			for _, r := range bad {
				t.Errorf("failed: %v", r)
			}
			kanbanIDs = append(kanbanIDs, kanbanSeed)
			checkInterop(t, b, kanbanIDs, append(seed.Created, py.Created...), py, workers*perWorker/len(workerOps))
		})
	}
}

// checkInterop: Python's comments landed on kanban's tasks, kanban's on
// Python's, each side's rows are all there, and the board is intact.
func checkInterop(t *testing.T, b *testBoard, kanbanIDs, pyIDs []string, py pypeer.WorkResult, kanbanComments int) {
	t.Helper()
	if len(py.ForeignCommented) == 0 {
		t.Error("the Python writer saw no kanban task to comment on")
	}
	for _, id := range py.ForeignCommented {
		if !slices.Contains(kanbanIDs, id) {
			t.Errorf("Python commented on %s, which kanban did not create", id)
		}
	}
	c := openDB(t, b.db)
	checkIntegrity(t, c)
	checks := []rowCheck{
		{"kanban comments on Python tasks", `SELECT count(*) FROM task_comments m JOIN tasks t ON t.id = m.task_id
			WHERE m.author GLOB 'w[0-9][0-9]' AND t.created_by = 'py'`, int64(kanbanComments)},
		{"Python comments on kanban tasks", `SELECT count(*) FROM task_comments m JOIN tasks t ON t.id = m.task_id
			WHERE m.author = 'py' AND t.created_by = 'user'`, int64(len(py.ForeignCommented))},
		{"kanban tasks", "SELECT count(*) FROM tasks WHERE created_by = 'user'", int64(len(kanbanIDs))},
		{"Python tasks", "SELECT count(*) FROM tasks WHERE created_by = 'py'", int64(len(pyIDs))},
		{"Python tasks done", "SELECT count(*) FROM tasks WHERE created_by = 'py' AND status = 'done' AND current_run_id IS NULL", int64(len(py.Created))},
	}
	for _, ck := range checks {
		if got := count(t, c, ck.sql); got != ck.want {
			t.Errorf("%s = %d, want %d", ck.what, got, ck.want)
		}
	}
	// kanban reads Python's rows through its own verbs…
	out := b.mustRun(t, "list")
	for _, id := range pyIDs {
		if !strings.Contains(out, id) {
			t.Errorf("kanban list does not show Python's task %s", id)
		}
	}
	// …and Python counts kanban's through its own SQLite.
	chk, err := newPeer(t, b.db).Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !chk.OK() || chk.JournalMode != b.mode {
		t.Errorf("python check: integrity %q, mode %s (want ok, %s)", chk.Integrity, chk.JournalMode, b.mode)
	}
	if want := int64(len(kanbanIDs) + len(pyIDs)); chk.Counts["tasks"] != want {
		t.Errorf("Python counts %d tasks, want %d", chk.Counts["tasks"], want)
	}
	if got := journalMode(t, b.db); got != b.mode {
		t.Errorf("journal mode is now %s, want %s", got, b.mode)
	}
	checkNoLocks(t, b.db)
}

// While Python holds a write transaction, a kanban write waits for it
// (SQLite's busy timeout; Python takes no lease) and then succeeds, after
// Python's row: Python's POSIX locks and kanban's OFD locks exclude each
// other in both journal modes.
func TestInterop_kanbanWaitsForPython(t *testing.T) {
	for _, mode := range journalModes {
		t.Run(mode, func(t *testing.T) {
			b := newTestBoard(t, mode)
			id := b.createTask(t, "shared")
			peer := newPeer(t, b.db)
			ctx := context.Background()
			hold, err := peer.StartHold(ctx, id, 1500*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			r, err := b.run(ctx, nil, "comment", id, "from kanban")
			if err != nil || r.code != 0 || r.stderr != "" {
				t.Fatalf("%v (err %v)", r, err)
			}
			pyComment, err := hold.Wait()
			if err != nil {
				t.Fatal(err)
			}
			c := openDB(t, b.db)
			goComment, _, err := sqlx.QueryInt(c, "SELECT id FROM task_comments WHERE task_id = ? AND body = 'from kanban'", id)
			if err != nil {
				t.Fatal(err)
			}
			if goComment <= pyComment {
				t.Errorf("kanban's comment %d is not after Python's %d: kanban got in while Python held the lock", goComment, pyComment)
			}
			checkIntegrity(t, c)
		})
	}
}

// While kanban is inside a write transaction, a Python write waits for
// it; when kanban is stopped (SIGTERM: its transaction rolls back), the
// Python write goes through.
func TestInterop_pythonWaitsForKanban(t *testing.T) {
	for _, mode := range journalModes {
		t.Run(mode, func(t *testing.T) {
			b := newTestBoard(t, mode)
			id := b.createTask(t, "shared")
			p := b.startPaused(t, "comment", "comment", id, "rolled back")
			peer := newPeer(t, b.db)
			done := make(chan error, 1)
			go func() { done <- peer.Comment(context.Background(), id, "from python") }()
			select {
			case err := <-done:
				t.Fatalf("Python wrote while kanban held the write lock (err %v)", err)
			case <-time.After(time.Second):
			}
			if code := p.signal(t, syscall.SIGTERM); code != 143 {
				t.Errorf("kanban exit code %d after SIGTERM, want 143", code)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(time.Minute):
				t.Fatal("Python write still blocked a minute after kanban exited")
			}
			c := openDB(t, b.db)
			bodies, err := sqlx.QueryStrings(c, "SELECT body FROM task_comments WHERE task_id = ? ORDER BY id", id)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(bodies) != "[from python]" {
				t.Errorf("comments = %q, want only Python's", bodies)
			}
			checkIntegrity(t, c)
			checkNoLocks(t, b.db)
		})
	}
}

// Upstream's <db>.init.lock and <db>.dispatch.lock are taken in
// upstream's mode (flock on the same files), so a Python process and
// kanbanshim exclude each other in both directions.
func TestInterop_upstreamLocks(t *testing.T) {
	b := newTestBoard(t, "wal")
	peer := newPeer(t, b.db)
	ctx := context.Background()

	t.Run("python holds", func(t *testing.T) {
		for _, which := range []string{"init", "dispatch"} {
			l, err := peer.StartLock(ctx, which, 30*time.Second, 0)
			if err != nil || !l.Locked {
				t.Fatalf("python %s lock: locked %v, %v", which, l != nil && l.Locked, err)
			}
			if which == "init" {
				if _, err := lockd.LockInit(ctx, b.db, 300*time.Millisecond); !errors.Is(err, lockd.ErrTimeout) {
					t.Errorf("LockInit while Python holds it = %v, want ErrTimeout", err)
				}
			} else if fl, ok, err := lockd.TryLockDispatch(b.db); ok || err != nil {
				if fl != nil {
					fl.Close()
				}
				t.Errorf("TryLockDispatch while Python holds it = %v, %v; want not ok", ok, err)
			}
			l.Stop()
		}
	})
	t.Run("kanbanshim holds", func(t *testing.T) {
		il, err := lockd.LockInit(ctx, b.db, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		dl, ok, err := lockd.TryLockDispatch(b.db)
		if err != nil || !ok {
			t.Fatalf("TryLockDispatch = %v, %v", ok, err)
		}
		for _, which := range []string{"init", "dispatch"} {
			l, err := peer.StartLock(ctx, which, 0, 300*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if l.Locked {
				t.Errorf("Python got the %s lock while kanbanshim held it", which)
			}
			if err := l.Wait(); err != nil {
				t.Fatal(err)
			}
		}
		il.Close()
		dl.Close()
		for _, which := range []string{"init", "dispatch"} {
			l, err := peer.StartLock(ctx, which, 0, time.Second)
			if err != nil || !l.Locked {
				t.Errorf("Python %s lock after kanbanshim released it: locked %v, %v", which, l != nil && l.Locked, err)
			}
			if l != nil {
				_ = l.Wait()
			}
		}
	})
}
