package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/kanbanshim/kanbanshim/internal/pypeer"
)

// workerOps is the cycle every test worker repeats: each write of the
// mixed workload is one kanban command.
var workerOps = []string{"create", "claim", "heartbeat", "comment", "complete"}

// TestConcurrentWriters runs 16 concurrent workers, each running 100
// mixed write commands (create, claim, heartbeat, comment, complete) as
// separate kanban processes on one board, in WAL and in DELETE mode, alone
// and next to a Python writer that takes none of our locks. Every command
// must exit 0 with nothing on stderr (so no "database is locked"), every
// row must be there exactly once, and integrity_check must be ok, through
// both Go's and Python's SQLite. (-short: 10 commands per worker.)
func TestConcurrentWriters(t *testing.T) {
	const writers = 16
	perWriter := 100
	if testing.Short() {
		perWriter = 10
	}
	for _, mode := range []string{"wal", "delete"} {
		for _, python := range []bool{false, true} {
			name := mode
			if python {
				name += "+python"
			}
			t.Run(name, func(t *testing.T) {
				// The four boards are independent; running them together
				// overlaps one board's fsyncs with another's CPU.
				t.Parallel()
				runConcurrent(t, newTestBoard(t, mode), writers, perWriter, python)
			})
		}
	}
}

func runConcurrent(t *testing.T, b *testBoard, writers, perWriter int, python bool) {
	ctx := t.Context() // a failed test does not leave processes behind
	var peerRun *pypeer.Run
	if python {
		peer := newPeer(t, b.db)
		var err error
		// Its comments go to kanban's tasks, so it reads their rows too.
		peerRun, err = peer.Start(ctx, pypeer.WorkOptions{Writes: perWriter, Tag: "py", ForeignComments: true})
		if err != nil {
			t.Fatal(err)
		}
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ids  []string
		bad  []result
		errs []error
	)
	for w := range writers {
		wg.Go(func() {
			got, failed, err := kanbanWorker(ctx, b, w, perWriter, nil)
			mu.Lock()
			defer mu.Unlock()
			ids, bad, errs = append(ids, got...), append(bad, failed...), append(errs, err)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i, r := range bad {
		if i == 5 {
			t.Errorf("… %d failed commands in all", len(bad))
			break
		}
		t.Errorf("failed: %v", r)
	}
	var py pypeer.WorkResult
	if peerRun != nil {
		var err error
		if py, err = peerRun.Wait(); err != nil {
			t.Errorf("python writer: %v", err)
		}
	}
	checkWorkload(t, b, len(ids), writers*perWriter/len(workerOps), py)
}

// kanbanWorker runs writes kanban commands in workerOps cycles on tasks
// it creates; with commentOn, comments go to the task it returns instead.
// Commands that exit non-zero or print to stderr are returned as
// failures; err is only for commands that could not be run at all.
func kanbanWorker(ctx context.Context, b *testBoard, w, writes int, commentOn func() (string, error)) (ids []string, bad []result, err error) {
	id := ""
	for i := range writes {
		op := workerOps[i%len(workerOps)]
		if op != "create" && id == "" {
			continue // the create of this cycle failed and was reported
		}
		target := id
		if op == "comment" && commentOn != nil {
			if target, err = commentOn(); err != nil {
				return ids, bad, err
			}
		}
		r, err := b.run(ctx, nil, workerArgs(op, target, w, i)...)
		if err != nil {
			return ids, bad, err
		}
		if r.code != 0 || r.stderr != "" {
			bad = append(bad, r)
		}
		if op == "create" {
			var ok bool
			if id, ok = createdID(r.stdout); ok {
				ids = append(ids, id)
			}
		}
	}
	return ids, bad, nil
}

func workerArgs(op, id string, w, i int) []string {
	author := fmt.Sprintf("w%02d", w)
	switch op {
	case "create":
		return []string{"create", fmt.Sprintf("%s task %d", author, i/len(workerOps))}
	case "heartbeat":
		return []string{"heartbeat", id, "--note", fmt.Sprintf("step %d", i)}
	case "comment":
		return []string{"comment", id, fmt.Sprintf("%s progress %d", author, i), "--author", author}
	case "complete":
		return []string{"complete", id, "--result", "ok"}
	}
	return []string{op, id}
}

// checkWorkload checks that every kanban task went through the whole
// cycle exactly once, that the Python writer's tasks did too, and that
// the board is intact and still in its journal mode.
func checkWorkload(t *testing.T, b *testBoard, created, wantTasks int, py pypeer.WorkResult) {
	t.Helper()
	if created != wantTasks {
		t.Errorf("kanban created %d tasks, want %d", created, wantTasks)
	}
	c := openDB(t, b.db)
	checkIntegrity(t, c)
	n := int64(wantTasks)
	checks := []rowCheck{
		{"kanban tasks", "SELECT count(*) FROM tasks WHERE created_by = 'user'", n},
		{"kanban tasks done", "SELECT count(*) FROM tasks WHERE created_by = 'user' AND status = 'done' AND current_run_id IS NULL AND claim_lock IS NULL", n},
		{"kanban comments", "SELECT count(*) FROM task_comments WHERE author GLOB 'w[0-9][0-9]'", n},
		{"kanban runs", "SELECT count(*) FROM task_runs r JOIN tasks t ON t.id = r.task_id WHERE t.created_by = 'user'", n},
		{"kanban runs completed", "SELECT count(*) FROM task_runs r JOIN tasks t ON t.id = r.task_id WHERE t.created_by = 'user' AND r.outcome = 'completed' AND r.ended_at IS NOT NULL", n},
	}
	for _, kind := range []string{"created", "claimed", "heartbeat", "completed"} {
		checks = append(checks, rowCheck{kind + " events",
			"SELECT count(*) FROM task_events e JOIN tasks t ON t.id = e.task_id WHERE t.created_by = 'user' AND e.kind = '" + kind + "'", n})
	}
	if py.Tag != "" {
		checks = append(checks,
			rowCheck{"python tasks done", "SELECT count(*) FROM tasks WHERE created_by = 'py' AND status = 'done'", int64(len(py.Created))},
			rowCheck{"python comments", "SELECT count(*) FROM task_comments WHERE author = 'py'", int64(py.Writes / len(workerOps))})
	}
	for _, ck := range checks {
		if got := count(t, c, ck.sql); got != ck.want {
			t.Errorf("%s = %d, want %d", ck.what, got, ck.want)
		}
	}
	if got := journalMode(t, b.db); got != b.mode {
		t.Errorf("journal mode is now %s, want %s", got, b.mode)
	}
	if py.Tag != "" {
		chk, err := newPeer(t, b.db).Check(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !chk.OK() {
			t.Errorf("python integrity_check = %q", chk.Integrity)
		}
	}
	checkNoLocks(t, b.db)
}

// rowCheck is a count query and the count it must return.
type rowCheck struct {
	what string
	sql  string
	want int64
}

// newPeer is a Python peer on db; tests skip without python3.
func newPeer(t testing.TB, db string) *pypeer.Peer {
	t.Helper()
	p, err := pypeer.New(t.TempDir(), db)
	if errors.Is(err, pypeer.ErrNoPython) {
		t.Skip("python3 is not installed")
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}
