package recover_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/fixtures"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/migrate"
	"github.com/kanbanshim/kanbanshim/recover"
)

var bench struct {
	once sync.Once
	dir  string
	path string
	size int64
	err  error
}

// TestMain removes the benchmark board, which is built once per process.
func TestMain(m *testing.M) {
	code := m.Run()
	if bench.dir != "" {
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

// benchBoard builds (once) a board of KANBANSHIM_BENCH_MB megabytes with
// 4 KiB pages: 20 by default, 200 under `make bench`
// (KANBANSHIM_BENCH_FULL=1), the size docs/PERFORMANCE.md reports.
func benchBoard(b *testing.B) (string, int64) {
	bench.once.Do(func() {
		mb := 20
		if os.Getenv("KANBANSHIM_BENCH_FULL") == "1" {
			mb = 200
		}
		if v, err := strconv.Atoi(os.Getenv("KANBANSHIM_BENCH_MB")); err == nil && v > 0 {
			mb = v
		}
		if bench.dir, bench.err = os.MkdirTemp("", "kanban-bench-*"); bench.err != nil {
			return
		}
		bench.path = filepath.Join(bench.dir, "board.db")
		bench.size, bench.err = buildBenchBoard(bench.path, int64(mb)<<20)
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.path, bench.size
}

// buildBenchBoard starts from a generated board (every table, overflow
// bodies) and grows it to target bytes with tasks, comments and events
// in the same shapes. The growth uses 64-bit ids of its own: the
// generator's 32-bit ids collide past some 65,000 tasks.
func buildBenchBoard(path string, target int64) (int64, error) {
	ctx := context.Background()
	bd, err := fixtures.Create(ctx, path, fixtures.BoardOptions{PageSize: 4096, Tasks: 1000, Seed: 99, BigBodies: 10})
	if err != nil {
		return 0, err
	}
	defer bd.Conn.Close()
	rng := rand.New(rand.NewPCG(99, 1))
	for clock := int64(fixtures.Epoch); ; clock += 2000 {
		fi, err := os.Stat(path)
		if err != nil {
			return 0, err
		}
		if fi.Size() >= target {
			return fi.Size(), nil
		}
		if err := growBoard(bd.Conn, rng, clock, 2000); err != nil {
			return 0, err
		}
	}
}

// growBoard adds n tasks, each with two comments and three events, in one
// transaction.
func growBoard(c *sqlite3.Conn, rng *rand.Rand, clock int64, n int) (err error) {
	tx, err := c.BeginImmediate()
	if err != nil {
		return err
	}
	defer tx.End(&err)
	text := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abcdefghij klmnopqrstuvwxyz "[rng.IntN(28)]
		}
		return string(b)
	}
	statuses := []string{"todo", "ready", "running", "done", "blocked", "triage"}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("t_%016x", rng.Uint64())
		at := clock + int64(i)
		if _, err := sqlx.Exec(c, `INSERT INTO tasks (id, title, body, assignee, status, priority, created_by, created_at, workspace_kind, tenant)
			VALUES (?, ?, ?, 'alice', ?, ?, 'cli', ?, 'scratch', 'acme')`,
			id, "Task "+text(24), text(200+rng.IntN(400)), statuses[rng.IntN(len(statuses))], rng.IntN(5), at); err != nil {
			return err
		}
		for j := 0; j < 2; j++ {
			if _, err := sqlx.Exec(c, `INSERT INTO task_comments (task_id, author, body, created_at) VALUES (?, 'bob', ?, ?)`,
				id, text(80+rng.IntN(120)), at); err != nil {
				return err
			}
		}
		for _, kind := range []string{"created", "promoted", "commented"} {
			if _, err := sqlx.Exec(c, `INSERT INTO task_events (task_id, kind, payload, created_at) VALUES (?, ?, ?, ?)`,
				id, kind, `{"by":"cli"}`, at); err != nil {
				return err
			}
		}
	}
	return nil
}

func BenchmarkSalvage(b *testing.B) {
	src, size := benchBoard(b)
	dir := b.TempDir()
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := filepath.Join(dir, fmt.Sprintf("out%d.db", i))
		rep, err := recover.Salvage(context.Background(), recover.SalvageOptions{DBPath: src, OutPath: out})
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			b.ReportMetric(float64(rep.RowsRecovered), "rows")
		}
		os.Remove(out)
	}
}

// BenchmarkSQLiteReadAll is the baseline: SQLite reading every column of
// every row of every table of the same board.
func BenchmarkSQLiteReadAll(b *testing.B) {
	src, size := benchBoard(b)
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := openDB(b, src)
		rows := 0
		for _, t := range migrate.CoreTables {
			err := sqlx.Query(c, "SELECT * FROM "+t, nil, func(r *sqlx.Row) error {
				for j := range r.Columns() {
					_ = r.ValueAt(j)
				}
				rows++
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		c.Close()
		if i == 0 {
			b.ReportMetric(float64(rows), "rows")
		}
	}
}
