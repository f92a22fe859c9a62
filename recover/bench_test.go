package recover_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

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

// benchBoard builds (once) a board of KANBANSHIM_BENCH_MB megabytes
// (default 20) with 4 KiB pages.
func benchBoard(b *testing.B) (string, int64) {
	bench.once.Do(func() {
		mb := 20
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

func buildBenchBoard(path string, target int64) (int64, error) {
	ctx := context.Background()
	bd, err := fixtures.Create(ctx, path, fixtures.BoardOptions{PageSize: 4096, Tasks: 1000, Seed: 99, BigBodies: 10})
	if err != nil {
		return 0, err
	}
	defer bd.Conn.Close()
	for {
		fi, err := os.Stat(path)
		if err != nil {
			return 0, err
		}
		if fi.Size() >= target {
			return fi.Size(), nil
		}
		if err := bd.AddTasks(2000, 5); err != nil {
			return 0, err
		}
	}
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
