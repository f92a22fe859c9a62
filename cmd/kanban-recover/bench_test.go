package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/kanbanshim/kanbanshim/fixtures/bigboard"
	"github.com/kanbanshim/kanbanshim/internal/benchkit"
)

// The end-to-end benchmarks of kanban-recover: the release binary as a
// child process on generated boards (see cmd/kanban's benchmarks), next
// to the sqlite3 CLI doing the nearest work, as same-run ratios.

// benchBoard copies the cached current-schema board of n tasks into a
// fresh directory.
func benchBoard(b *testing.B, n int) string {
	b.Helper()
	src, err := bigboard.Cached(context.Background(), bigboard.Current, n)
	if err != nil {
		b.Fatal(err)
	}
	db := filepath.Join(b.TempDir(), "kanban.db")
	if err := bigboard.Copy(src, db); err != nil {
		b.Fatal(err)
	}
	return db
}

func recoverCmd(b *testing.B, args ...string) *exec.Cmd {
	cmd := exec.Command(benchkit.Binary(b, "kanban-recover"), args...)
	cmd.Env = append(os.Environ(), "HERMES_KANBAN_DB=", "HERMES_KANBAN_BOARD=")
	return cmd
}

func eachSize(b *testing.B, fn func(b *testing.B, n int)) {
	for _, n := range benchkit.Sizes() {
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) { fn(b, n) })
	}
}

// BenchmarkCheck: `kanban-recover check` (a copy of the board: header,
// WAL, quick_check, schema, invariants) against `sqlite3 PRAGMA
// quick_check` on the board itself.
func BenchmarkCheck(b *testing.B) {
	sq := benchkit.Tool(b, "sqlite3")
	eachSize(b, func(b *testing.B, n int) {
		db := benchBoard(b, n)
		var p benchkit.Pairs
		for b.Loop() {
			p.Add(benchkit.Exec(b, recoverCmd(b, "--db", db, "check")),
				benchkit.Exec(b, exec.Command(sq, db, "PRAGMA quick_check")))
		}
		p.Report(b, "sqlite3")
	})
}

// recoverWorks reports whether this sqlite3 CLI's .recover runs: Debian
// 12's lists it but is built without the sqlite_dbpage table it needs.
var recoverWorks = sync.OnceValue(func() bool {
	return exec.Command("sqlite3", ":memory:", ".recover").Run() == nil
})

// salvagePairs measures `kanban-recover salvage` of the board db into a
// new file against SQLite rebuilding it through the CLI: `.recover |
// sqlite3 NEW` where the CLI's .recover works, else `.dump | sqlite3 NEW`
// (the same read-everything-and-rewrite, through SQL rather than pages);
// the ratio's name says which.
func salvagePairs(b *testing.B, db string) {
	sq := benchkit.Tool(b, "sqlite3")
	ref, verb := "dump", ".dump"
	if recoverWorks() {
		ref, verb = "recover", ".recover"
	}
	dir := b.TempDir()
	var p benchkit.Pairs
	i := 0
	for b.Loop() {
		i++
		ours := filepath.Join(dir, fmt.Sprintf("salvaged%d.db", i))
		theirs := filepath.Join(dir, fmt.Sprintf("rebuilt%d.db", i))
		p.Add(benchkit.Exec(b, recoverCmd(b, "--db", db, "salvage", "--out", ours)),
			benchkit.Exec(b, exec.Command("sh", "-c", `"$0" "$1" "$2" | "$0" "$3"`, sq, db, verb, theirs)))
		b.StopTimer()
		for _, f := range []string{ours, theirs} {
			os.Remove(f)
		}
		b.StartTimer()
	}
	p.Report(b, ref)
}

// BenchmarkSalvage: salvage at each board size.
func BenchmarkSalvage(b *testing.B) {
	eachSize(b, func(b *testing.B, n int) { salvagePairs(b, benchBoard(b, n)) })
}

// BenchmarkSalvageMB: salvage of a 50 MB board (53,000 tasks; 5 MB
// unless KANBANSHIM_BENCH_FULL=1). Target: ≤ 1.0× the reference.
func BenchmarkSalvageMB(b *testing.B) {
	mb := 5
	if benchkit.Full() {
		mb = 50
	}
	b.Run(fmt.Sprintf("MB=%d", mb), func(b *testing.B) { salvagePairs(b, benchBoard(b, mb*1060)) })
}

// BenchmarkSnapshot: `kanban-recover snapshot` (quick_check and online
// backup in one read transaction, integrity_check of the copy, fsync,
// rename, prune) against `sqlite3 DB ".backup COPY"` (the same page copy,
// unchecked) on the same board. Besides the usual ratios it reports the
// snapshot's size against the .backup's (size-x) and how long the
// snapshot held the board's read transaction (read-ms, the wait a
// DELETE-mode writer can see).
func BenchmarkSnapshot(b *testing.B) {
	sq := benchkit.Tool(b, "sqlite3")
	eachSize(b, func(b *testing.B, n int) {
		db := benchBoard(b, n)
		dir := b.TempDir()
		var p benchkit.Pairs
		var reads []float64
		var size, refSize int64
		i := 0
		for b.Loop() {
			i++
			copyPath := filepath.Join(dir, fmt.Sprintf("backup%d.db", i))
			var out bytes.Buffer
			cmd := recoverCmd(b, "--db", db, "snapshot", "--json")
			cmd.Stdout = &out
			p.Add(benchkit.Exec(b, cmd), benchkit.Exec(b, exec.Command(sq, db, ".backup "+copyPath)))
			b.StopTimer()
			var rep struct {
				Path   string `json:"path"`
				Bytes  int64  `json:"bytes"`
				ReadMS int64  `json:"read_ms"`
			}
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.Path == "" {
				b.Fatalf("snapshot --json: %v: %s", err, out.String())
			}
			fi, err := os.Stat(copyPath)
			if err != nil {
				b.Fatal(err)
			}
			size, refSize = rep.Bytes, fi.Size()
			reads = append(reads, float64(rep.ReadMS))
			os.Remove(copyPath)
			b.StartTimer()
		}
		p.Report(b, "backup")
		slices.Sort(reads)
		b.ReportMetric(reads[len(reads)/2], "read-ms")
		b.ReportMetric(float64(size)/float64(refSize), "size-x")
	})
}
