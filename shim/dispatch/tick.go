package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/shim/home"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// checkpointEvery is upstream's _WAL_CHECKPOINT_INTERVAL_SECONDS.
const checkpointEvery = 300 * time.Second

// Board is one board a dispatcher ticks.
type Board struct {
	Slug  string
	DB    string
	Paths store.Paths
	// Fix is the command that repairs the board, for log lines (""
	// derives it from Slug; a database pinned by path needs --db).
	Fix string
}

// Dispatcher runs ticks; one value serves every tick of a process.
type Dispatcher struct {
	Env        home.Env // profiles, HERMES_BIN, PATH
	Root       string   // kanban root; worker slots live under it
	Environ    []string // base environment of workers (KEY=VALUE)
	Supervisor []string // argv prefix that runs `kanban supervise`
	Exits      *ExitRegistry
	// Boards lists every board of the home, for the host-wide
	// max_in_progress count (nil: this board only).
	Boards func() []Board
	Log    *slog.Logger

	mu          sync.Mutex
	checkpoints map[string]time.Time
}

// tick is one pass over one board.
type tick struct {
	d      *Dispatcher
	st     *store.Store
	b      Board
	s      Settings
	dryRun bool
	res    Result

	perProfile map[string]int64 // running per assignee, when capped
	profiles   map[string]bool  // profile existence, looked up once a tick
}

// profileExists is upstream's profile_exists, memoised for the tick (it
// reads the profiles directory).
func (t *tick) profileExists(name string) bool {
	if ok, seen := t.profiles[name]; seen {
		return ok
	}
	if t.profiles == nil {
		t.profiles = map[string]bool{}
	}
	t.profiles[name] = t.d.Env.ProfileExists(name)
	return t.profiles[name]
}

// Tick runs one dispatcher pass over a board under the board's tick lock
// (<db>.dispatch.lock, shared with upstream's dispatchers): reclaim,
// promote, then spawn within the caps. When another dispatcher holds the
// lock the tick does nothing and reports SkippedLocked. The store must
// have been opened with Options.Terminate = Terminator(s.ReclaimGrace).
func (d *Dispatcher) Tick(ctx context.Context, st *store.Store, b Board, s Settings, dryRun bool) (Result, error) {
	fl, ok, err := lockd.TryLockDispatch(b.DB)
	switch {
	case err != nil:
		d.logf("dispatch lock unavailable (%v); ticking without it", err)
	case !ok:
		return Result{SkippedLocked: true}, nil
	default:
		defer fl.Close()
	}
	t := &tick{d: d, st: st, b: b, s: s, dryRun: dryRun}
	if err := t.reclaim(ctx); err != nil {
		return t.res, err
	}
	if err := t.spawnAll(ctx); err != nil {
		return t.res, err
	}
	d.maybeCheckpoint(st, b.DB)
	return t.res, nil
}

func (d *Dispatcher) logf(format string, args ...any) {
	if d.Log != nil {
		d.Log.Warn(fmt.Sprintf(format, args...))
	}
}

// reclaim is upstream's _run_reclaim_phase.
func (t *tick) reclaim(ctx context.Context) error {
	var err error
	if t.res.Reclaimed, err = releaseStaleClaims(ctx, t.st, t.s.ClaimTTL); err != nil {
		return err
	}
	if t.s.ReconcileOrphans {
		if t.res.ReconciledOrphans, err = reconcileOrphanedRunning(ctx, t.st); err != nil {
			return err
		}
	}
	if t.res.Stale, err = detectStaleRunning(ctx, t.st, t.s.StaleTimeout); err != nil {
		return err
	}
	var lookup ExitLookup
	if t.d.Exits != nil {
		lookup = t.d.Exits.Lookup
	}
	rep, err := detectCrashedWorkers(ctx, t.st, crashOptions{grace: t.s.CrashGrace, failureLimit: t.s.FailureLimit, exits: lookup})
	t.res.Crashed = rep.crashed
	t.res.AutoBlocked = append(t.res.AutoBlocked, rep.autoBlocked...)
	t.res.RateLimited = append(t.res.RateLimited, rep.rateLimited...)
	if err != nil {
		return err
	}
	if t.res.TimedOut, _, err = enforceMaxRuntime(ctx, t.st, t.s.FailureLimit); err != nil {
		return err
	}
	t.res.Promoted, err = t.st.RecomputeReady(ctx, t.s.FailureLimit)
	return err
}

// budget is upstream's _tick_spawn_budget plus the worker-slot cap: how
// many workers this tick may start (nil: uncapped); ok is false when it
// may start none.
func (t *tick) budget(ctx context.Context) (*int64, bool, error) {
	var budget *int64
	limit := func(n int64) {
		if budget == nil || *budget > n {
			budget = &n
		}
	}
	if t.s.MaxSpawn != nil || t.s.MaxInProgress != nil {
		running, err := countRunning(t.st)
		if err != nil {
			return nil, false, err
		}
		if t.s.MaxSpawn != nil {
			limit(*t.s.MaxSpawn - running)
		}
		if t.s.MaxInProgress != nil {
			limit(*t.s.MaxInProgress - running - t.d.runningElsewhere(ctx, t.b))
		}
	}
	limit(int64(FreeSlots(t.d.Root, GlobalScope, t.s.MaxWorkers)))
	switch MemoryPressure() {
	case "critical":
		t.res.MemoryPressure = "critical"
		t.d.logf("system memory pressure is critical; spawning no new workers this tick (deferred, not dropped)")
		return nil, false, nil
	case "elevated":
		t.res.MemoryPressure = "elevated"
		limit(1)
	}
	return budget, *budget > 0, nil
}

// runningElsewhere counts running tasks on the home's other boards, so a
// host-wide cap is not multiplied by the number of boards.
func (d *Dispatcher) runningElsewhere(ctx context.Context, b Board) int64 {
	if d.Boards == nil {
		return 0
	}
	self := resolvePath(b.DB)
	var n int64
	for _, o := range d.Boards() {
		if resolvePath(o.DB) == self {
			continue
		}
		counts, _, err := store.PeekCounts(ctx, o.DB)
		if err == nil {
			n += counts["running"]
		}
	}
	return n
}

func resolvePath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

// spawnAll walks the ready lane, then the review lane, spawning within
// the budget (upstream's _dispatch_once_locked after the reclaim phase).
func (t *tick) spawnAll(ctx context.Context) error {
	budget, ok, err := t.budget(ctx)
	if err != nil || !ok {
		t.res.capped = err == nil
		return err
	}
	ready, err := laneRows(t.st, "ready")
	if err != nil {
		return err
	}
	var review []laneRow
	if t.s.ReviewDispatch {
		if review, err = laneRows(t.st, "review"); err != nil {
			return err
		}
	}
	readyBudget := budget
	if budget != nil && *budget > 0 && t.anySpawnable(review) {
		rb := *budget - 1
		readyBudget = &rb
	}
	if t.s.PerProfile != nil {
		if t.perProfile, err = runningByAssignee(t.st); err != nil {
			return err
		}
	}
	spawned := int64(0)
	if err := t.lane(ctx, ready, "ready", readyBudget, &spawned); err != nil {
		return err
	}
	return t.lane(ctx, review, "review", budget, &spawned)
}

func (t *tick) anySpawnable(rows []laneRow) bool {
	for _, r := range rows {
		if r.assignee != nil && t.profileExists(*r.assignee) {
			return true
		}
	}
	return false
}

// lane dispatches one lane's rows until the budget is spent or no worker
// slot is left.
func (t *tick) lane(ctx context.Context, rows []laneRow, lane string, budget *int64, spawned *int64) error {
	def := t.defaultAssignee()
	for _, row := range rows {
		if budget != nil && *spawned >= *budget {
			t.res.capped = true
			return nil
		}
		assignee := ""
		if row.assignee != nil {
			assignee = *row.assignee
		}
		if assignee == "" {
			if lane == "review" || def == "" {
				t.res.SkippedUnassigned = append(t.res.SkippedUnassigned, row.id)
				continue
			}
			if !t.dryRun {
				if err := applyDefaultAssignee(ctx, t.st, row.id, def); err != nil {
					t.res.SkippedUnassigned = append(t.res.SkippedUnassigned, row.id)
					continue
				}
			}
			assignee = def
			t.res.AutoAssignedDefault = append(t.res.AutoAssignedDefault, row.id)
		}
		used, full, err := t.dispatchRow(ctx, row.id, assignee, lane)
		if err != nil {
			return err
		}
		if used {
			*spawned++
		}
		if full {
			t.res.capped = true
			return nil
		}
	}
	return nil
}

// defaultAssignee is kanban.default_assignee when it names a profile.
func (t *tick) defaultAssignee() string {
	name := t.s.DefaultAssignee
	if name == "" || !t.profileExists(name) {
		return ""
	}
	return name
}

// dispatchRow is upstream's _dispatch_lane_task: guard, claim, resolve
// the workspace, spawn. used reports a spawn (or a dry-run one); full
// reports that no worker slot is left for anyone this tick.
func (t *tick) dispatchRow(ctx context.Context, id, assignee, lane string) (used, full bool, err error) {
	if !t.profileExists(assignee) {
		t.res.SkippedNonspawnable = append(t.res.SkippedNonspawnable, id)
		return false, false, nil
	}
	if t.s.PerProfile != nil {
		if cur := t.perProfile[assignee]; cur >= *t.s.PerProfile {
			t.res.SkippedPerProfileCapped = append(t.res.SkippedPerProfileCapped, Capped{id, assignee, cur})
			return false, false, nil
		}
	}
	reason, err := checkRespawnGuard(t.st, id, lane, t.s.RateLimitCooldown)
	if err != nil {
		return false, false, err
	}
	if reason != "" {
		t.res.RespawnGuarded = append(t.res.RespawnGuarded, Guarded{id, reason})
		if !t.dryRun {
			err = recordRespawnGuarded(ctx, t.st, id, reason)
		}
		return false, false, err
	}
	if t.dryRun {
		t.res.Spawned = append(t.res.Spawned, Spawned{id, assignee, ""})
		t.countSpawn(assignee)
		return true, false, nil
	}
	// Once claimed, finish the hand-over even if we are asked to stop: a
	// half-done spawn leaves a claimed task without a worker.
	return t.claimAndSpawn(context.WithoutCancel(ctx), id, lane)
}

func (t *tick) countSpawn(assignee string) {
	if t.perProfile != nil && assignee != "" {
		t.perProfile[assignee]++
	}
}

func (t *tick) claimAndSpawn(ctx context.Context, id, lane string) (used, full bool, err error) {
	claim := t.st.ClaimTask
	var extra []string
	if lane == "review" {
		claim, extra = t.st.ClaimReviewTask, []string{"sdlc-review"}
	}
	res, err := claim(ctx, id, t.s.ClaimTTL, "")
	if err != nil || res.Task == nil {
		return false, false, err
	}
	task := res.Task
	ws, werr := store.ResolveWorkspace(task, t.b.Paths)
	if werr != nil {
		return false, false, t.spawnFailed(ctx, id, "workspace: "+werr.Error())
	}
	if err := t.st.SetWorkspacePath(ctx, id, ws); err != nil {
		return false, false, err
	}
	profile := home.NormalizeProfile(store.Str(task.Assignee))
	pid, serr := t.d.spawn(ctx, spawnRequest{task: task, runID: res.RunID, profile: profile, workspace: ws,
		board: t.b, settings: t.s, skills: extra})
	var busy *SlotBusyError
	switch {
	case errors.As(serr, &busy):
		if err := releaseUnspawned(ctx, t.st, id, res.RunID, busy.Error()); err != nil {
			return false, false, err
		}
		if busy.Scope != GlobalScope {
			t.res.SkippedPerProfileCapped = append(t.res.SkippedPerProfileCapped, Capped{id, profile, int64(busy.Cap)})
			return false, false, nil
		}
		return false, true, nil
	case serr != nil:
		return false, false, t.spawnFailed(ctx, id, serr.Error())
	}
	if err := setWorkerPID(ctx, t.st, id, res.RunID, int64(pid)); err != nil {
		return false, false, err
	}
	t.res.Spawned = append(t.res.Spawned, Spawned{id, store.Str(task.Assignee), ws})
	t.countSpawn(store.Str(task.Assignee))
	return true, false, nil
}

// spawnFailed counts a spawn failure, releasing the claim (upstream's
// spawn_failed path).
func (t *tick) spawnFailed(ctx context.Context, id, msg string) error {
	tripped, err := recordTaskFailure(ctx, t.st, id, failure{outcome: "spawn_failed", err: msg, limit: t.s.FailureLimit,
		releaseClaim: true, endRun: true})
	if tripped {
		t.res.AutoBlocked = append(t.res.AutoBlocked, id)
	}
	return err
}

// maybeCheckpoint runs a passive WAL checkpoint at most every five
// minutes per board, still under the tick lock (upstream's
// _maybe_checkpoint_wal).
func (d *Dispatcher) maybeCheckpoint(st *store.Store, db string) {
	d.mu.Lock()
	if d.checkpoints == nil {
		d.checkpoints = map[string]time.Time{}
	}
	last, due := d.checkpoints[db], false
	if time.Since(last) >= checkpointEvery {
		d.checkpoints[db], due = time.Now(), true
	}
	d.mu.Unlock()
	if due {
		if err := st.CheckpointPassive(); err != nil && !errors.Is(err, board.ErrDamaged) {
			d.logf("passive WAL checkpoint of %s: %v", db, err)
		}
	}
}
