package dispatch_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/kanbanshim/kanbanshim/internal/host"
	"github.com/kanbanshim/kanbanshim/shim/dispatch"
	"github.com/kanbanshim/kanbanshim/shim/home"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// BenchmarkTick_Idle is the cost of one tick over a board with 200 tasks
// and nothing to do (every ready task's assignee is not a profile): the
// reclaim phase's queries, the budget and the lane scan, under the tick
// lock. This is what a daemon pays per board per interval.
func BenchmarkTick_Idle(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	db := filepath.Join(dir, "kanban.db")
	st, err := store.Open(ctx, db, store.Options{Board: "default", PeerSQLite: func(context.Context) host.PeerInfo { return host.PeerInfo{} },
		Terminate: dispatch.Terminator(0)})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	for i := 0; i < 200; i++ {
		if _, err := st.CreateTask(ctx, store.NewTask{Title: "t" + strconv.Itoa(i), Assignee: ptr("nobody")}); err != nil {
			b.Fatal(err)
		}
	}
	env := home.Env{Getenv: envOf(map[string]string{"HERMES_HOME": dir}), UserHome: dir}
	d := &dispatch.Dispatcher{Env: env, Root: dir, Environ: os.Environ()}
	board := dispatch.Board{Slug: "default", DB: db, Paths: store.Paths{WorkspacesRoot: filepath.Join(dir, "ws"), LogsDir: filepath.Join(dir, "logs")}}
	s, err := dispatch.ResolveSettings(envOf(nil), home.DefaultConfig(), dispatch.Overrides{MaxWorkers: ptr(int64(2))})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := d.Tick(ctx, st, board, s, false)
		if err != nil || len(res.SkippedNonspawnable) != 200 {
			b.Fatalf("tick: %v, %d non-spawnable", err, len(res.SkippedNonspawnable))
		}
	}
}
