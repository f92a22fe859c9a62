package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/migrate"
)

// benchWriters is the writer count of the lease benchmark, the same as
// the concurrency test's.
const benchWriters = 16

// BenchmarkWriteLease compares the 16-writer workload with the write
// lease (lockd.Lease around BEGIN IMMEDIATE … COMMIT, as store.Write does)
// against busy-retry alone (SQLite's busy_timeout plus store's 5x retry
// of BEGIN/COMMIT on SQLITE_BUSY). Every writer is its own connection
// and its own Lease, so they contend exactly as processes do: flock is per
// open file description and ncruces' OFD locks are per descriptor.
//
// One iteration is the whole workload: 16 writers × 100 writes with
// KANBANSHIM_BENCH_FULL=1 (make bench), × 10 otherwise. It reports
// writes/s and the p50/p99 latency of one write, from asking for the
// lease (or BEGIN) to the lease released after COMMIT.
func BenchmarkWriteLease(b *testing.B) {
	perWriter := 10
	if os.Getenv("KANBANSHIM_BENCH_FULL") != "" {
		perWriter = 100
	}
	for _, mode := range []string{"wal", "delete"} {
		for _, lease := range []bool{true, false} {
			name := mode + "/busy-retry"
			if lease {
				name = mode + "/lease"
			}
			b.Run(name, func(b *testing.B) {
				var all []time.Duration
				var wall time.Duration
				for b.Loop() {
					b.StopTimer()
					db := newBenchBoard(b, mode)
					b.StartTimer()
					start := time.Now()
					lat, err := runWriteWorkload(context.Background(), db, benchWriters, perWriter, lease)
					wall += time.Since(start)
					if err != nil {
						b.Fatal(err)
					}
					all = append(all, lat...)
				}
				reportLatencies(b, all, wall)
			})
		}
	}
}

// reportLatencies adds writes/s, p50-ms and p99-ms to the benchmark line.
func reportLatencies(b *testing.B, lat []time.Duration, wall time.Duration) {
	if len(lat) == 0 || wall <= 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/wall.Seconds(), "writes/s")
	b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 99)), "p99-ms")
}

// percentile of sorted durations, nearest rank.
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(i-1, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// newBenchBoard creates an empty board with the canonical schema.
func newBenchBoard(tb testing.TB, mode string) string {
	tb.Helper()
	db := filepath.Join(tb.TempDir(), "kanban.db")
	c, err := sqlite3.Open(db)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	if err := c.Exec("PRAGMA journal_mode=" + mode); err != nil {
		tb.Fatal(err)
	}
	if _, err := migrate.Apply(context.Background(), c, migrate.Options{Now: time.Now().Unix()}); err != nil {
		tb.Fatal(err)
	}
	return db
}

// runWriteWorkload runs writers goroutines, each doing perWriter writes
// in cycles of create, claim, heartbeat, comment, complete on its own
// tasks, and returns every write's latency.
func runWriteWorkload(ctx context.Context, db string, writers, perWriter int, lease bool) ([]time.Duration, error) {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		lat  []time.Duration
		errs []error
	)
	for w := range writers {
		wg.Go(func() {
			l, err := benchWriter(ctx, db, w, perWriter, lease)
			mu.Lock()
			defer mu.Unlock()
			lat = append(lat, l...)
			errs = append(errs, err)
		})
	}
	wg.Wait()
	return lat, errors.Join(errs...)
}

func benchWriter(ctx context.Context, db string, w, n int, lease bool) ([]time.Duration, error) {
	c, err := openBenchConn(db)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var l *lockd.Lease
	if lease {
		l = lockd.NewLease(db)
	}
	lat := make([]time.Duration, 0, n)
	var task string
	var run int64
	for i := range n {
		op := workloadOps[i%len(workloadOps)]
		if op == "create" {
			task = fmt.Sprintf("t_%02x%06x", w, i)
		}
		start := time.Now()
		err := benchTxn(ctx, c, l, op+" "+task, func() error { return benchBody(c, op, task, &run) })
		if err != nil {
			return lat, fmt.Errorf("writer %d %s %s: %w", w, op, task, err)
		}
		lat = append(lat, time.Since(start))
	}
	return lat, nil
}

// workloadOps is the mixed write cycle every writer repeats.
var workloadOps = []string{"create", "claim", "heartbeat", "comment", "complete"}

// openBenchConn opens a connection with upstream's settings.
func openBenchConn(db string) (*sqlite3.Conn, error) {
	c, err := sqlite3.Open(db)
	if err != nil {
		return nil, err
	}
	if err := c.BusyTimeout(120 * time.Second); err != nil {
		return nil, errors.Join(err, c.Close())
	}
	for _, p := range []string{"PRAGMA synchronous=FULL", "PRAGMA wal_autocheckpoint=100",
		"PRAGMA journal_size_limit=8388608", "PRAGMA foreign_keys=ON", "PRAGMA secure_delete=ON", "PRAGMA cell_size_check=ON"} {
		if err := c.Exec(p); err != nil {
			return nil, errors.Join(err, c.Close())
		}
	}
	return c, nil
}

// benchTxn is store.Write's protocol: the lease (when l is not nil),
// BEGIN IMMEDIATE and COMMIT retried on SQLITE_BUSY, rollback on error.
func benchTxn(ctx context.Context, c *sqlite3.Conn, l *lockd.Lease, op string, body func() error) (err error) {
	if l != nil {
		if err := l.Acquire(ctx, op, lockd.DefaultLeaseTimeout); err != nil {
			return err
		}
		defer l.Release()
	}
	if err := retryOnBusy(c, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil && !c.GetAutocommit() {
			_ = c.Exec("ROLLBACK")
		}
	}()
	if err := body(); err != nil {
		return err
	}
	return retryOnBusy(c, "COMMIT")
}

// retryOnBusy is store's BEGIN/COMMIT retry: 5 tries, 20–150 ms apart.
func retryOnBusy(c *sqlite3.Conn, sql string) error {
	var err error
	for range 5 {
		if err = c.Exec(sql); err == nil || !errors.Is(err, sqlite3.BUSY) {
			return err
		}
		time.Sleep(time.Duration(20+rand.IntN(131)) * time.Millisecond)
	}
	return err
}

// benchBody runs one op's statements, in upstream's shapes.
func benchBody(c *sqlite3.Conn, op, task string, run *int64) error {
	now := time.Now().Unix()
	var err error
	switch op {
	case "create":
		_, err = sqlx.Exec(c, `INSERT INTO tasks (id, title, status, priority, created_by, created_at, workspace_kind, completion_contract)
			VALUES (?, ?, 'ready', 0, 'bench', ?, 'scratch', 'local-only')`, task, "bench "+task, now)
		if err == nil {
			err = benchEvent(c, task, "created", `{"assignee": null, "status": "ready", "parents": []}`, nil)
		}
	case "claim":
		_, err = sqlx.Exec(c, `UPDATE tasks SET status = 'running', claim_lock = 'bench:1', claim_expires = ?, started_at = COALESCE(started_at, ?)
			WHERE id = ? AND status = 'ready' AND claim_lock IS NULL`, now+900, now, task)
		if err == nil {
			*run, err = sqlx.Insert(c, `INSERT INTO task_runs (task_id, status, claim_lock, claim_expires, started_at)
				VALUES (?, 'running', 'bench:1', ?, ?)`, task, now+900, now)
		}
		if err == nil {
			_, err = sqlx.Exec(c, "UPDATE tasks SET current_run_id = ? WHERE id = ?", *run, task)
		}
		if err == nil {
			err = benchEvent(c, task, "claimed", `{"lock": "bench:1"}`, run)
		}
	case "heartbeat":
		_, err = sqlx.Exec(c, "UPDATE tasks SET last_heartbeat_at = ? WHERE id = ? AND status = 'running'", now, task)
		if err == nil {
			_, err = sqlx.Exec(c, "UPDATE task_runs SET last_heartbeat_at = ? WHERE id = ?", now, *run)
		}
		if err == nil {
			err = benchEvent(c, task, "heartbeat", "", run)
		}
	case "comment":
		_, err = sqlx.Exec(c, "INSERT INTO task_comments (task_id, author, body, created_at) VALUES (?, 'bench', 'progress', ?)", task, now)
		if err == nil {
			err = benchEvent(c, task, "commented", `{"author": "bench", "len": 8}`, nil)
		}
	case "complete":
		_, err = sqlx.Exec(c, `UPDATE tasks SET status = 'done', result = 'ok', completed_at = ?, claim_lock = NULL, claim_expires = NULL,
			worker_pid = NULL WHERE id = ? AND status IN ('running', 'ready', 'blocked', 'review')`, now, task)
		if err == nil {
			_, err = sqlx.Exec(c, `UPDATE task_runs SET status = 'done', outcome = 'completed', summary = 'ok', ended_at = ?,
				claim_lock = NULL, claim_expires = NULL WHERE id = ? AND ended_at IS NULL`, now, *run)
		}
		if err == nil {
			_, err = sqlx.Exec(c, "UPDATE tasks SET current_run_id = NULL WHERE id = ?", task)
		}
		if err == nil {
			err = benchEvent(c, task, "completed", `{"result_len": 2, "summary": "ok"}`, run)
		}
	}
	return err
}

func benchEvent(c *sqlite3.Conn, task, kind, payload string, run *int64) error {
	var p any
	if payload != "" {
		p = payload
	}
	_, err := sqlx.Exec(c, "INSERT INTO task_events (task_id, run_id, kind, payload, created_at) VALUES (?, ?, ?, ?, ?)",
		task, run, kind, p, time.Now().Unix())
	return err
}
