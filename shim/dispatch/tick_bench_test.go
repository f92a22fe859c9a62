package dispatch_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/kanbanshim/kanbanshim/fixtures/bigboard"
	"github.com/kanbanshim/kanbanshim/internal/benchkit"

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

// BenchmarkTick_First is the first tick on an upgraded early-May board
// (see fixtures/bigboard): one task in eight was running when the old
// upstream stopped, its claim long expired, so the tick reclaims them all
// and promotes the todo tasks whose parents are done (one in sixteen).
// It reports the tick's time and the next tick's, in process.
func BenchmarkTick_First(b *testing.B) {
	for _, n := range benchkit.Sizes() {
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			ctx := context.Background()
			src, err := bigboard.Cached(ctx, bigboard.EarlyMay, n)
			if err != nil {
				b.Fatal(err)
			}
			var first, next []time.Duration
			for b.Loop() {
				b.StopTimer()
				dir := b.TempDir()
				db := filepath.Join(dir, "kanban.db")
				if err := bigboard.Copy(src, db); err != nil {
					b.Fatal(err)
				}
				st, err := store.Open(ctx, db, store.Options{Board: "default", Terminate: dispatch.Terminator(0),
					PeerSQLite: func(context.Context) host.PeerInfo { return host.PeerInfo{} }})
				if err != nil {
					b.Fatal(err)
				}
				env := home.Env{Getenv: envOf(map[string]string{"HERMES_HOME": dir}), UserHome: dir}
				d := &dispatch.Dispatcher{Env: env, Root: dir, Environ: os.Environ()}
				board := dispatch.Board{Slug: "default", DB: db, Paths: store.Paths{WorkspacesRoot: filepath.Join(dir, "ws"), LogsDir: filepath.Join(dir, "logs")}}
				s, err := dispatch.ResolveSettings(envOf(nil), home.DefaultConfig(), dispatch.Overrides{MaxWorkers: ptr(int64(2))})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				for i, out := range []*[]time.Duration{&first, &next} {
					start := time.Now()
					res, err := d.Tick(ctx, st, board, s, false)
					*out = append(*out, time.Since(start))
					if err != nil || i == 0 && res.Reclaimed < n/8 {
						b.Fatalf("tick %d: %v, %d reclaimed, want at least %d", i, err, res.Reclaimed, n/8)
					}
				}
				b.StopTimer()
				st.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(medianOf(first).Microseconds())/1000, "first-ms")
			b.ReportMetric(float64(medianOf(next).Microseconds())/1000, "next-ms")
		})
	}
}

func medianOf(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}
