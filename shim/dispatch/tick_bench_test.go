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
	r := newTickRig(b, b.TempDir(), nil)
	for i := 0; i < 200; i++ {
		if _, err := r.st.CreateTask(ctx, store.NewTask{Title: "t" + strconv.Itoa(i), Assignee: ptr("nobody")}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := r.tick(ctx)
		if err != nil || len(res.SkippedNonspawnable) != 200 {
			b.Fatalf("tick: %v, %d non-spawnable", err, len(res.SkippedNonspawnable))
		}
	}
}

// tickRig is a dispatcher over the board dir/kanban.db (created when
// missing) in the home dir, where no profile exists: ticks spawn nothing.
type tickRig struct {
	st    *store.Store
	d     *dispatch.Dispatcher
	board dispatch.Board
	s     dispatch.Settings
}

// newTickRig opens the board with hooks (may be nil); it is closed when
// the test ends.
func newTickRig(tb testing.TB, dir string, hooks *store.Hooks) *tickRig {
	tb.Helper()
	db := filepath.Join(dir, "kanban.db")
	st, err := store.Open(context.Background(), db, store.Options{Board: "default", Terminate: dispatch.Terminator(0),
		PeerSQLite: func(context.Context) host.PeerInfo { return host.PeerInfo{} }, Hooks: hooks})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	env := home.Env{Getenv: envOf(map[string]string{"HERMES_HOME": dir}), UserHome: dir}
	s, err := dispatch.ResolveSettings(envOf(nil), home.DefaultConfig(), dispatch.Overrides{MaxWorkers: ptr(int64(2))})
	if err != nil {
		tb.Fatal(err)
	}
	return &tickRig{st: st, s: s, d: &dispatch.Dispatcher{Env: env, Root: dir, Environ: os.Environ()},
		board: dispatch.Board{Slug: "default", DB: db, Paths: store.Paths{WorkspacesRoot: filepath.Join(dir, "ws"), LogsDir: filepath.Join(dir, "logs")}}}
}

func (r *tickRig) tick(ctx context.Context) (dispatch.Result, error) {
	return r.d.Tick(ctx, r.st, r.board, r.s, false)
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
				if err := bigboard.Copy(src, filepath.Join(dir, "kanban.db")); err != nil {
					b.Fatal(err)
				}
				r := newTickRig(b, dir, nil)
				b.StartTimer()
				for i, out := range []*[]time.Duration{&first, &next} {
					start := time.Now()
					res, err := r.tick(ctx)
					*out = append(*out, time.Since(start))
					if err != nil || i == 0 && res.Reclaimed < n/8 {
						b.Fatalf("tick %d: %v, %d reclaimed, want at least %d", i, err, res.Reclaimed, n/8)
					}
				}
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
