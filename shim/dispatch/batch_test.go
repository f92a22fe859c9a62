package dispatch_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kanbanshim/kanbanshim/fixtures/bigboard"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// TestTick_settlesInBatches: the first tick on an upgraded early-May
// board of 10,000 tasks reclaims its 1,250-odd expired claims in two write
// transactions (batches of 1,000), not one per task, and records each
// task exactly as a per-task reclaim did: back to ready, its run closed
// as reclaimed, one reclaimed event.
func TestTick_settlesInBatches(t *testing.T) {
	ctx := context.Background()
	src, err := bigboard.Cached(ctx, bigboard.EarlyMay, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "kanban.db")
	if err := bigboard.Copy(src, db); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	txns := map[string]int{}
	r := newTickRig(t, dir, &store.Hooks{InTxn: func(_ context.Context, op string) error {
		mu.Lock()
		defer mu.Unlock()
		op, _, _ = strings.Cut(op, " (")
		txns[op]++
		return nil
	}})
	st := r.st
	running, _, err := sqlx.QueryInt(st.Conn(), "SELECT COUNT(*) FROM tasks WHERE status = 'running'")
	if err != nil || running < 1001 {
		t.Fatalf("%d running tasks (%v): the board does not test batching", running, err)
	}
	clear(txns)
	res, err := r.tick(ctx)
	reclaimed := int64(res.Reclaimed)
	if err != nil || reclaimed+int64(len(res.ReconciledOrphans)) != running || reclaimed < 1001 {
		t.Fatalf("tick: %v, %d reclaimed and %d orphans reconciled of %d running", err, reclaimed, len(res.ReconciledOrphans), running)
	}
	if want := int((reclaimed + 999) / 1000); txns["release stale claims"] != want {
		t.Errorf("reclaims took %d write transactions, want %d (all: %v)", txns["release stale claims"], want, txns)
	}
	if total := sum(txns); total > 5 {
		t.Errorf("the tick ran %d write transactions: %v", total, txns)
	}
	for q, want := range map[string]int64{
		"SELECT COUNT(*) FROM tasks WHERE status = 'running'":                              0,
		"SELECT COUNT(*) FROM task_events WHERE kind = 'reclaimed'":                        reclaimed,
		"SELECT COUNT(*) FROM task_runs WHERE status = 'reclaimed' AND ended_at NOT NULL":  running,
		"SELECT COUNT(*) FROM tasks WHERE current_run_id IS NOT NULL AND status = 'ready'": 0,
	} {
		if got, _, err := sqlx.QueryInt(st.Conn(), q); err != nil || got != want {
			t.Errorf("%s = %d (%v), want %d", q, got, err, want)
		}
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
