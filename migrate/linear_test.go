package migrate_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/fixtures/bigboard"
	"github.com/kanbanshim/kanbanshim/internal/benchkit"
	"github.com/kanbanshim/kanbanshim/migrate"
)

// stepCost is what running one migration step cost: SQLite virtual
// machine instructions (deterministic: a nested scan shows up as a
// product of row counts) and wall time.
type stepCost struct {
	vm   int64
	wall time.Duration
}

// migrateCopy copies the cached board of kind with n tasks, plans it and
// runs every step statement by statement in one transaction (as Apply
// does), returning each step's cost.
func migrateCopy(tb testing.TB, kind string, n int) map[string]stepCost {
	tb.Helper()
	ctx := context.Background()
	src, err := bigboard.Cached(ctx, kind, n)
	if err != nil {
		tb.Fatal(err)
	}
	db := filepath.Join(tb.TempDir(), "kanban.db")
	if err := bigboard.Copy(src, db); err != nil {
		tb.Fatal(err)
	}
	c, err := sqlite3.Open(db)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	// kanban's durability: each commit fsynced, checkpoints as it runs them.
	if err := c.Exec("PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=100"); err != nil {
		tb.Fatal(err)
	}
	if err := c.Exec("BEGIN IMMEDIATE"); err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	steps, err := migrate.Plan(ctx, c, migrate.Options{Full: true, Now: bigboard.Epoch + 86400})
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]stepCost{"plan": {wall: time.Since(start)}}
	for _, st := range steps {
		var cost stepCost
		for _, sql := range st.Statements {
			vm, d, err := execCounted(c, sql)
			if err != nil {
				tb.Fatalf("step %s: %v\n%s", st.N, err, sql)
			}
			cost.vm += vm
			cost.wall += d
		}
		out[st.N] = cost
	}
	// The commit writes what is left of the transaction to the WAL, and
	// the checkpoint after it copies every changed page into the board.
	start = time.Now()
	if err := c.Exec("COMMIT"); err != nil {
		tb.Fatal(err)
	}
	out["commit"] = stepCost{wall: time.Since(start)}
	return out
}

// execCounted runs one statement and returns its VM instruction count.
func execCounted(c *sqlite3.Conn, sql string) (int64, time.Duration, error) {
	start := time.Now()
	st, _, err := c.Prepare(sql)
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	for st.Step() {
	}
	if err := st.Err(); err != nil {
		return 0, 0, err
	}
	return int64(st.Status(sqlite3.STMTSTATUS_VM_STEP, false)), time.Since(start), nil
}

// TestMigrationSteps_linear: every step of the migration pass, on the
// boards that need them (the early-May schema with one running task in
// eight lacking its run: steps 0-9; drifted tables: step 10), does work
// proportional to the rows it touches — four times the tasks may cost at
// most six times the instructions (n log n for index builds is 4.9×; a
// step walking one index per row of another, as step 8 once did, grows
// sixteenfold). Counted, not timed, so it holds on a busy machine.
func TestMigrationSteps_linear(t *testing.T) {
	for _, kind := range []string{bigboard.EarlyMay, bigboard.Drifted} {
		small, big := migrateCopy(t, kind, 500), migrateCopy(t, kind, 2000)
		if len(small) < 2 {
			t.Fatalf("%s: no steps to run", kind)
		}
		for n, s := range small {
			if n == "plan" || n == "commit" {
				continue
			}
			b := big[n]
			ratio := float64(b.vm) / float64(max(s.vm, 1))
			t.Logf("%s step %s: %d → %d instructions (%.2f×)", kind, n, s.vm, b.vm, ratio)
			if ratio > 6 {
				t.Errorf("%s step %s: %d instructions at 500 tasks, %d at 2000 (%.1f×): not linear", kind, n, s.vm, b.vm, ratio)
			}
		}
	}
}

// BenchmarkMigrationSteps reports each step's wall time (ms) on the
// early-May and drifted boards at each size, with the planning before and
// the commit (and checkpoint) after: how each step's cost grows with the
// board.
func BenchmarkMigrationSteps(b *testing.B) {
	for _, kind := range []string{bigboard.EarlyMay, bigboard.Drifted} {
		for _, n := range benchkit.Sizes() {
			b.Run(fmt.Sprintf("%s/tasks=%d", kind, n), func(b *testing.B) {
				var runs []map[string]stepCost
				for b.Loop() {
					runs = append(runs, migrateCopy(b, kind, n))
				}
				reportSteps(b, runs)
			})
		}
	}
}

func reportSteps(b *testing.B, runs []map[string]stepCost) {
	var names []string
	for n := range runs[0] {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		var d []time.Duration
		for _, r := range runs {
			d = append(d, r[n].wall)
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, "step"+n+"-ms")
	}
}
