package recover_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kanbanshim/kanbanshim/fixtures"
	"github.com/kanbanshim/kanbanshim/recover"
)

// sqlite3CLI is the Debian sqlite3 shell the snapshot benchmark compares
// against.
const sqlite3CLI = "/usr/bin/sqlite3"

// BenchmarkSnapshot measures `kanban-recover snapshot` (quick_check and
// online backup in one read transaction, integrity_check of the copy,
// fsync, rename, prune) against the sqlite3 shell's `.backup` of the same
// WAL board in the same run, at 10,000 tasks and (KANBANSHIM_BENCH_FULL=1)
// 100,000 tasks. It reports both times, and the snapshot's time and size
// as ratios to the .backup's.
func BenchmarkSnapshot(b *testing.B) {
	if _, err := os.Stat(sqlite3CLI); err != nil {
		b.Skip("no " + sqlite3CLI + " to compare with (apt-get install sqlite3)")
	}
	sizes := []int{10_000}
	if os.Getenv("KANBANSHIM_BENCH_FULL") == "1" {
		sizes = append(sizes, 100_000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			db := filepath.Join(dir, "kanban.db")
			if err := buildTaskBoard(db, n); err != nil {
				b.Fatal(err)
			}
			var snap, backup, read time.Duration
			var snapBytes, backupBytes int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				rep, err := recover.Snapshot(context.Background(), recover.SnapshotOptions{DBPath: db, Keep: 1,
					Now: func() time.Time { return time.Unix(fixtures.Epoch+int64(i), 0) }})
				if err != nil {
					b.Fatal(err)
				}
				snap += time.Since(start)
				read += time.Duration(rep.ReadMS) * time.Millisecond
				snapBytes = rep.Bytes
				b.StopTimer()
				out := filepath.Join(dir, fmt.Sprintf("backup%d.db", i))
				start = time.Now()
				if msg, err := exec.Command(sqlite3CLI, db, ".backup "+out).CombinedOutput(); err != nil {
					b.Fatalf("sqlite3 .backup: %v: %s", err, msg)
				}
				backup += time.Since(start)
				fi, err := os.Stat(out)
				if err != nil {
					b.Fatal(err)
				}
				backupBytes = fi.Size()
				os.Remove(out)
				b.StartTimer()
			}
			b.ReportMetric(float64(snap.Milliseconds())/float64(b.N), "snapshot-ms")
			b.ReportMetric(float64(read.Milliseconds())/float64(b.N), "read-txn-ms")
			b.ReportMetric(float64(backup.Milliseconds())/float64(b.N), "backup-ms")
			b.ReportMetric(float64(snap)/float64(backup), "time-ratio")
			b.ReportMetric(float64(snapBytes)/float64(backupBytes), "size-ratio")
			b.ReportMetric(float64(snapBytes)/(1<<20), "MiB")
		})
	}
}

// buildTaskBoard makes a WAL board of n tasks (each with two comments and
// three events, as BenchmarkSalvage's board grows) and closes it, so the
// file is checkpointed and both copies read the same bytes.
func buildTaskBoard(path string, n int) error {
	bd, err := fixtures.Create(context.Background(), path, fixtures.BoardOptions{PageSize: 4096, Tasks: 1000, Seed: 99, BigBodies: 10, Journal: "wal"})
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(99, 2))
	for done := 1000; done < n; done += 2000 {
		if err := growBoard(bd.Conn, rng, int64(fixtures.Epoch+done), min(2000, n-done)); err != nil {
			bd.Conn.Close()
			return err
		}
	}
	return bd.Conn.Close()
}
