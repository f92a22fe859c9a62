package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kanbanshim/kanbanshim/fixtures/bigboard"
	"github.com/kanbanshim/kanbanshim/internal/benchkit"
)

// The end-to-end benchmarks run the release `kanban` as a child process
// on generated boards (fixtures/bigboard) of 1k and 10k tasks, and 100k
// under KANBANSHIM_BENCH_FULL=1, each next to a reference that does the
// least the same work needs — mostly the sqlite3 CLI reading the same
// rows — and report the same-run ratio (docs/PERFORMANCE.md).

// benchHome copies a cached board of kind and n tasks to a fresh
// HERMES_HOME as its default board and returns the home and the board.
func benchHome(b *testing.B, kind string, n int) (home, db string) {
	b.Helper()
	src, err := bigboard.Cached(context.Background(), kind, n)
	if err != nil {
		b.Fatal(err)
	}
	home = b.TempDir()
	db = filepath.Join(home, "kanban.db")
	if err := bigboard.Copy(src, db); err != nil {
		b.Fatal(err)
	}
	return home, db
}

func kanbanCmd(b *testing.B, home string, args ...string) *exec.Cmd {
	cmd := exec.Command(benchkit.Binary(b, "kanban"), args...)
	cmd.Env = append(os.Environ(), "HERMES_HOME="+home, "HOME="+home, "TZ=UTC", "HERMES_KANBAN_DB=", "HERMES_KANBAN_BOARD=")
	return cmd
}

// eachSize runs fn as a sub-benchmark per board size.
func eachSize(b *testing.B, fn func(b *testing.B, n int)) {
	for _, n := range benchkit.Sizes() {
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) { fn(b, n) })
	}
}

// pairs runs ours and ref alternately b.N times on the same board and
// reports the ratio against ref (named refName).
func pairs(b *testing.B, refName string, ours, ref func() *exec.Cmd) {
	var p benchkit.Pairs
	for b.Loop() {
		p.Add(benchkit.Exec(b, ours()), benchkit.Exec(b, ref()))
	}
	p.Report(b, refName)
}

// BenchmarkListJSON: `kanban list --json` against `sqlite3 -json` reading
// every column of every task. Targets: ≤ 2.0× at 10k; peak memory
// (MiB) ≤ 64 and flat in board size.
func BenchmarkListJSON(b *testing.B) {
	sq := benchkit.Tool(b, "sqlite3")
	eachSize(b, func(b *testing.B, n int) {
		home, db := benchHome(b, bigboard.Current, n)
		pairs(b, "sqlite3", func() *exec.Cmd { return kanbanCmd(b, home, "list", "--json") },
			func() *exec.Cmd { return exec.Command(sq, "-json", db, "SELECT * FROM tasks") })
	})
}

// BenchmarkListText: the text `kanban list` against the same read.
// Target: ≤ 3× at 100k.
func BenchmarkListText(b *testing.B) {
	sq := benchkit.Tool(b, "sqlite3")
	eachSize(b, func(b *testing.B, n int) {
		home, db := benchHome(b, bigboard.Current, n)
		pairs(b, "sqlite3", func() *exec.Cmd { return kanbanCmd(b, home, "list") },
			func() *exec.Cmd { return exec.Command(sq, "-json", db, "SELECT * FROM tasks") })
	})
}

// BenchmarkShow: `kanban show` of one task against sqlite3 reading the
// rows show prints (the task, its comments, events, runs and links).
func BenchmarkShow(b *testing.B) {
	sq := benchkit.Tool(b, "sqlite3")
	eachSize(b, func(b *testing.B, n int) {
		home, db := benchHome(b, bigboard.Current, n)
		id := fmt.Sprintf("t_%08x", (n/2)&^7+4) // a blocked task with comments and events
		q := fmt.Sprintf(`SELECT * FROM tasks WHERE id = '%[1]s'; SELECT * FROM task_comments WHERE task_id = '%[1]s';
			SELECT * FROM task_events WHERE task_id = '%[1]s'; SELECT * FROM task_runs WHERE task_id = '%[1]s';
			SELECT * FROM task_links WHERE parent_id = '%[1]s' OR child_id = '%[1]s'`, id)
		pairs(b, "sqlite3", func() *exec.Cmd { return kanbanCmd(b, home, "show", id) },
			func() *exec.Cmd { return exec.Command(sq, "-json", db, q) })
	})
}

// BenchmarkStats: `kanban stats` against sqlite3 running its three
// counting queries.
func BenchmarkStats(b *testing.B) {
	sq := benchkit.Tool(b, "sqlite3")
	eachSize(b, func(b *testing.B, n int) {
		home, db := benchHome(b, bigboard.Current, n)
		q := `SELECT status, COUNT(*) FROM tasks WHERE status != 'archived' GROUP BY status;
			SELECT assignee, status, COUNT(*) FROM tasks WHERE status != 'archived' AND assignee IS NOT NULL GROUP BY assignee, status;
			SELECT MIN(created_at) FROM tasks WHERE status = 'ready'`
		pairs(b, "sqlite3", func() *exec.Cmd { return kanbanCmd(b, home, "stats") },
			func() *exec.Cmd { return exec.Command(sq, db, q) })
	})
}

// BenchmarkCreate: `kanban create` (one write transaction: the task and
// its event, fsynced, under the lease) against sqlite3 inserting the same
// two rows in one transaction with the same synchronous=FULL.
func BenchmarkCreate(b *testing.B) {
	sq := benchkit.Tool(b, "sqlite3")
	eachSize(b, func(b *testing.B, n int) {
		home, db := benchHome(b, bigboard.Current, n)
		i := 0
		pairs(b, "sqlite3", func() *exec.Cmd { return kanbanCmd(b, home, "create", "benchmark task", "--assignee", "alice") },
			func() *exec.Cmd {
				i++
				return exec.Command(sq, db, fmt.Sprintf(`PRAGMA synchronous=FULL; BEGIN IMMEDIATE;
					INSERT INTO tasks (id, title, assignee, status, created_by, created_at) VALUES ('t_ref%06d', 'benchmark task', 'alice', 'ready', 'user', 1780000000);
					INSERT INTO task_events (task_id, kind, payload, created_at) VALUES ('t_ref%06d', 'created', '{"assignee": "alice", "status": "ready"}', 1780000000);
					COMMIT`, i, i))
			})
	})
}

// BenchmarkFirstOpen: the first `kanban stats` on a board an early-May
// upstream wrote (one running task in eight without its run), which
// migrates it in one transaction, against the next `kanban stats` on the
// migrated board. Target: ≤ 10× at 100k.
func BenchmarkFirstOpen(b *testing.B) {
	eachSize(b, func(b *testing.B, n int) { firstAndNext(b, n, nil, "stats") })
}

// BenchmarkDispatchTick: the first `kanban dispatch` on an upgraded
// early-May board (one task in eight left running by the old upstream,
// its claim long expired: all reclaimed; the todo tasks whose parents are
// done promoted) against the next tick, which finds nothing to do. No
// profile exists, so nothing is spawned. Target: linear in the tasks it
// settles, in batched transactions.
func BenchmarkDispatchTick(b *testing.B) {
	eachSize(b, func(b *testing.B, n int) { firstAndNext(b, n, []string{"stats"}, "dispatch") })
}

// firstAndNext runs `kanban args` twice on a fresh copy of the early-May
// board of n tasks (after the unmeasured `kanban prep`, when given) and
// reports the first run against the second.
func firstAndNext(b *testing.B, n int, prep []string, args ...string) {
	src, err := bigboard.Cached(context.Background(), bigboard.EarlyMay, n)
	if err != nil {
		b.Fatal(err)
	}
	var p benchkit.Pairs
	for b.Loop() {
		b.StopTimer()
		home := b.TempDir()
		if err := bigboard.Copy(src, filepath.Join(home, "kanban.db")); err != nil {
			b.Fatal(err)
		}
		if prep != nil {
			benchkit.Exec(b, kanbanCmd(b, home, prep...))
		}
		b.StartTimer()
		first := benchkit.Exec(b, kanbanCmd(b, home, args...))
		p.Add(first, benchkit.Exec(b, kanbanCmd(b, home, args...)))
	}
	p.Report(b, "next")
}
