package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/fixtures/legacy"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/internal/testhooks"
	"github.com/kanbanshim/kanbanshim/migrate"
)

// command runs one of this test binary's commands (see TestMain) with the
// test environment of dir plus extra.
func command(t *testing.T, dir, name string, extra map[string]string, args ...string) *exec.Cmd {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = os.Environ()
	for k, v := range testEnv(dir) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	for k, v := range extra {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// startPaused starts `kanban-migrate --db db apply` paused at point and
// returns once it has announced the pause on stderr.
func startPaused(t *testing.T, dir, db, point string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := command(t, dir, "kanban-migrate", map[string]string{testhooks.EnvMigratePause: point},
		append([]string{"--db", db, "apply"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &bytes.Buffer{}
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	marker := testhooks.PauseMarker + strings.SplitN(point, ":", 2)[0]
	seen := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if sc.Text() == marker {
				seen <- nil
				io.Copy(io.Discard, stderr)
				return
			}
			fmt.Fprintln(out, "stderr:", sc.Text())
		}
		seen <- errors.New("exited without pausing")
	}()
	select {
	case err := <-seen:
		if err != nil {
			cmd.Wait()
			t.Fatalf("%v: %s", err, out)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no pause marker within 30s")
	}
	return cmd, out
}

func snapshotOf(t *testing.T, db string) *legacy.Snapshot {
	t.Helper()
	s, err := readBoard(db) // opening rolls back a hot journal / ignores uncommitted WAL frames
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestApply_sigkillLeavesOldOrNewBoard kills apply with SIGKILL at each
// point (after the backup, inside the transaction before the last step
// and before the commit, after the commit before the verify), in both
// journal modes. The board must then be exactly the old one (before the
// commit) or exactly upstream's result (after it), pass integrity_check,
// and a second apply must finish the job.
func TestApply_sigkillLeavesOldOrNewBoard(t *testing.T) {
	points := []string{migrate.PointAfterBackup, migrate.PointBeforeLastStep, migrate.PointBeforeCommit, migrate.PointAfterCommit}
	for _, journal := range []string{"wal", "delete"} {
		for _, point := range points {
			t.Run(journal+"/"+point, func(t *testing.T) {
				dir := t.TempDir()
				db := filepath.Join(dir, "board", "kanban.db")
				if err := legacyBoard([]string{"early-may-2026", db, journal}); err != nil {
					t.Fatal(err)
				}
				old := snapshotOf(t, db)
				want, err := legacy.Want("early-may-2026", testNow)
				if err != nil {
					t.Fatal(err)
				}
				cmd, _ := startPaused(t, dir, db, point)
				cmd.Process.Signal(syscall.SIGKILL)
				cmd.Wait()

				got := snapshotOf(t, db)
				committed := point == migrate.PointAfterCommit
				switch {
				case committed && legacy.Diff(want, got) != "":
					t.Fatalf("killed after commit: board is not the migrated one:\n%s", legacy.Diff(want, got))
				case !committed && legacy.Diff(old, got) != "":
					t.Fatalf("killed before commit: board is not the old one:\n%s", legacy.Diff(old, got))
				}
				out, err := command(t, dir, "kanban-migrate", nil, "--db", db, "apply").CombinedOutput()
				if err != nil {
					t.Fatalf("apply after the kill: %v\n%s", err, out)
				}
				if d := legacy.Diff(want, snapshotOf(t, db)); d != "" {
					t.Fatalf("after re-running apply:\n%s", d)
				}
				if tmps, _ := filepath.Glob(filepath.Join(dir, "board", "backups", "*.tmp")); len(tmps) != 0 {
					t.Errorf("temporary backups left: %v", tmps)
				}
			})
		}
	}
}

// TestApply_sigtermInsideTransaction: the drain turns SIGTERM into a
// rollback and exit 143; the board is untouched.
func TestApply_sigtermInsideTransaction(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "kanban.db")
	if err := legacyBoard([]string{"drifted", db}); err != nil {
		t.Fatal(err)
	}
	old := snapshotOf(t, db)
	cmd, out := startPaused(t, dir, db, migrate.PointBeforeLastStep)
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 143 {
		t.Fatalf("exit: %v (%s)", err, out)
	}
	if d := legacy.Diff(old, snapshotOf(t, db)); d != "" {
		t.Fatalf("board changed:\n%s", d)
	}
}

// TestApply_concurrentWritersLoseNothing migrates an early-May board while
// two kinds of writer keep writing: a Python-like writer that takes no
// kanbanshim lock (plain BEGIN IMMEDIATE on the old columns, relying on
// SQLite's locking and busy timeout), and `kanban create` processes that
// start while apply holds the init lock and the lease. Every write that
// reported success must be on the migrated board, which must conform.
func TestApply_concurrentWritersLoseNothing(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "home", "kanban.db") // the default board
	if err := legacyBoard([]string{"early-may-2026", db, "wal"}); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var raw []string
	var rawErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		raw, rawErr = rawWriter(ctx, db)
	}()
	time.Sleep(100 * time.Millisecond) // some writes before the migration
	cmd, out := startPaused(t, dir, db, migrate.PointAfterBackup+":1.5")
	kanbanIDs := make(chan string, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			b, err := command(t, dir, "kanban", nil, "create", fmt.Sprintf("during migration %d", i), "--json").Output()
			var obj struct{ ID string }
			if err == nil && json.Unmarshal(b, &obj) == nil && obj.ID != "" {
				kanbanIDs <- obj.ID
			} else {
				t.Errorf("kanban create %d: %v %s", i, err, b)
			}
		}(i)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	time.Sleep(100 * time.Millisecond) // and some after
	stop()
	wg.Wait()
	close(kanbanIDs)
	if rawErr != nil {
		t.Fatalf("raw writer: %v", rawErr)
	}
	if len(raw) < 5 {
		t.Fatalf("raw writer committed only %d tasks", len(raw))
	}
	c, err := sqlite3.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ids := map[string]bool{}
	err = sqlx.Query(c, "SELECT id FROM tasks", nil, func(r *sqlx.Row) error { ids[r.Text("id")] = true; return nil })
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range raw {
		if !ids[id] {
			t.Errorf("raw write %s lost", id)
		}
	}
	n := 0
	for id := range kanbanIDs {
		n++
		if !ids[id] {
			t.Errorf("kanban write %s lost", id)
		}
	}
	if n != 4 {
		t.Errorf("%d kanban writes succeeded, want 4", n)
	}
	if err := migrate.Verify(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// rawWriter inserts a task every few milliseconds until ctx is done, the
// way an early-May Python process would (old column names, no lease), and
// returns the ids of the inserts that committed.
func rawWriter(ctx context.Context, db string) ([]string, error) {
	c, err := sqlite3.Open(db)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.BusyTimeout(60 * time.Second); err != nil {
		return nil, err
	}
	var ids []string
	for i := 0; ctx.Err() == nil; i++ {
		id := fmt.Sprintf("t_raw%05d", i)
		err := c.Exec("BEGIN IMMEDIATE")
		if err == nil {
			_, err = sqlx.Exec(c, `INSERT INTO tasks (id, title, status, created_at, spawn_failures) VALUES (?, 'raw', 'todo', ?, 1)`, id, legacy.Epoch)
		}
		if err == nil {
			err = c.Exec("COMMIT")
		}
		if err != nil {
			c.Exec("ROLLBACK")
			return ids, fmt.Errorf("write %s: %w", id, err)
		}
		ids = append(ids, id)
		time.Sleep(5 * time.Millisecond)
	}
	return ids, nil
}
