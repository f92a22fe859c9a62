package dispatch_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kanbanshim/kanbanshim/fixtures/bigboard"
	"github.com/kanbanshim/kanbanshim/internal/host"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/shim/dispatch"
	"github.com/kanbanshim/kanbanshim/shim/home"
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
	st, err := store.Open(ctx, db, store.Options{Board: "default", Terminate: dispatch.Terminator(0),
		PeerSQLite: func(context.Context) host.PeerInfo { return host.PeerInfo{} },
		Hooks: &store.Hooks{InTxn: func(_ context.Context, op string) error {
			mu.Lock()
			defer mu.Unlock()
			op, _, _ = strings.Cut(op, " (")
			txns[op]++
			return nil
		}}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	running, _, err := sqlx.QueryInt(st.Conn(), "SELECT COUNT(*) FROM tasks WHERE status = 'running'")
	if err != nil || running < 1001 {
		t.Fatalf("%d running tasks (%v): the board does not test batching", running, err)
	}
	env := home.Env{Getenv: envOf(map[string]string{"HERMES_HOME": dir}), UserHome: dir}
	d := &dispatch.Dispatcher{Env: env, Root: dir, Environ: os.Environ()}
	board := dispatch.Board{Slug: "default", DB: db, Paths: store.Paths{WorkspacesRoot: filepath.Join(dir, "ws"), LogsDir: filepath.Join(dir, "logs")}}
	s, err := dispatch.ResolveSettings(envOf(nil), home.DefaultConfig(), dispatch.Overrides{MaxWorkers: ptr(int64(2))})
	if err != nil {
		t.Fatal(err)
	}
	clear(txns)
	res, err := d.Tick(ctx, st, board, s, false)
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
