package dispatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/proc"
	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// Daemon health and corrupt-board constants, as upstream's daemon.
const (
	healthWindow     = 6
	healthWarnEvery  = 300 * time.Second
	corruptRetryWait = 300 * time.Second
)

// ErrGatewayDispatching is wrapped by GatewayError.
var ErrGatewayDispatching = errors.New("a hermes gateway is dispatching this home")

// GatewayError reports the process holding upstream's gateway singleton.
type GatewayError struct {
	Path    string
	PIDs    []int
	Cmdline string
}

func (e *GatewayError) Error() string {
	who := "another process"
	if len(e.PIDs) > 0 {
		pids := make([]string, len(e.PIDs))
		for i, p := range e.PIDs {
			pids[i] = strconv.Itoa(p)
		}
		who = "pid " + strings.Join(pids, ", ")
		if e.Cmdline != "" {
			who += " (" + e.Cmdline + ")"
		}
	}
	return fmt.Sprintf("a hermes gateway is already dispatching this home: %s holds %s. "+
		"Set kanban.dispatch_in_gateway: false in its config.yaml and restart it, or stop this daemon", who, e.Path)
}

func (e *GatewayError) Unwrap() error { return ErrGatewayDispatching }

// DispatcherLockPath is upstream's gateway singleton lock,
// <root>/kanban/.dispatcher.lock.
func DispatcherLockPath(root string) string { return filepath.Join(root, "kanban", ".dispatcher.lock") }

// HoldSingleton takes the gateway singleton lock for a kanbanshim daemon.
// An upstream gateway takes it with flock(LOCK_EX|LOCK_NB) and does not
// dispatch when it cannot; kanbanshim daemons take it shared, so any
// number of them can run together (the tick lock and the worker slots keep
// them apart) while a gateway started later stays out. If a gateway holds
// it, the error names it.
func HoldSingleton(root string) (*lockd.FileLock, error) {
	path := DispatcherLockPath(root)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("dispatcher lock: %w", err)
	}
	fl, err := lockd.OpenLockFile(path)
	if err != nil {
		return nil, fmt.Errorf("dispatcher lock: %w", err)
	}
	ok, err := fl.TryLock(false)
	if err != nil {
		fl.Close()
		return nil, fmt.Errorf("dispatcher lock: %w", err)
	}
	if !ok {
		fl.Close()
		return nil, gatewayError(path)
	}
	return fl, nil
}

func gatewayError(path string) error {
	e := &GatewayError{Path: path}
	holders, _ := proc.FlockHolders(path)
	for _, h := range holders {
		if h.Exclusive {
			e.PIDs = append(e.PIDs, h.PID)
		}
	}
	if len(e.PIDs) == 1 {
		e.Cmdline = strings.TrimSpace(strings.Join(proc.Cmdline(e.PIDs[0]), " "))
	}
	return e
}

// Daemon runs ticks over every board until its context ends.
type Daemon struct {
	D *Dispatcher
	// Boards lists the boards to tick each round.
	Boards func() []Board
	// Open opens a board for one tick (with Terminate set); Run closes it.
	Open func(ctx context.Context, b Board, s Settings) (*store.Store, error)
	// Settings re-resolves the settings each round, so config.yaml edits
	// apply without a restart.
	Settings func() (Settings, error)
	Verbose  bool
	Out, Err io.Writer
	// Now is the clock for log lines (nil: time.Now).
	Now func() time.Time
	// Health checks one board without the write lease (PRAGMA
	// quick_check) and returns a *store.CorruptError when it is damaged
	// (the store records the damage marker). It runs at start and every
	// Settings.HealthEvery; nil turns the check off.
	Health func(ctx context.Context, b Board) error
	// AfterHealthy, when set, runs right after a board passed its health
	// check: the hook for work that wants a board just seen healthy (a
	// verified snapshot). It runs in the daemon's loop, between ticks.
	AfterHealthy func(ctx context.Context, b Board)

	badTicks   int
	lastWarn   time.Time
	corruptTil map[string]time.Time
	marked     map[string]bool // boards skipped for their damage marker (logged once)
	nextHealth time.Time       // zero: no health checks
	last       Settings
}

// Run checks every board's health, then ticks until ctx is done, checking
// health again whenever it is due. A tick in progress when the stop
// arrives finishes first (it may be stopping workers); a health check is
// abandoned. One failing board never stops the others or the loop; a
// board marked damaged is skipped until it is repaired.
func (dm *Daemon) Run(ctx context.Context) error {
	s, err := dm.Settings()
	if err != nil {
		return err
	}
	dm.last = s
	dm.healthRound(ctx)
	nextTick := time.Now()
	for {
		if !time.Now().Before(nextTick) {
			dm.round(context.WithoutCancel(ctx))
			nextTick = time.Now().Add(dm.last.Interval)
		}
		if dm.healthDue() {
			dm.healthRound(ctx)
		}
		wake := nextTick
		if !dm.nextHealth.IsZero() && dm.nextHealth.Before(wake) {
			wake = dm.nextHealth
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Until(wake)):
		}
		if !time.Now().Before(nextTick) {
			dm.reload()
		}
	}
}

// reload re-resolves the settings before a round, so config.yaml edits
// apply without a restart; unusable ones keep the previous settings.
func (dm *Daemon) reload() {
	s, err := dm.Settings()
	if err != nil {
		fmt.Fprintf(dm.Err, "[%s] settings: %v (keeping the previous ones)\n", dm.ts(), err)
		return
	}
	if s.HealthEvery != dm.last.HealthEvery {
		dm.nextHealth = time.Time{}
		if s.HealthEvery > 0 {
			dm.nextHealth = time.Now().Add(s.HealthEvery)
		}
	}
	dm.last = s
}

// round ticks every board once.
func (dm *Daemon) round(ctx context.Context) {
	boards := dm.Boards()
	spawned, pending := false, false
	for _, b := range boards {
		res, ready, ok := dm.tickBoard(ctx, b)
		if !ok {
			continue
		}
		spawned = spawned || len(res.Spawned) > 0 || res.capped
		// Only spawnable ready work counts: an unassigned task (or one for
		// a profile that does not exist) waits for a person, not for us.
		pending = pending || ready
		if dm.Verbose && res.DidWork() {
			line := res.Summary()
			if len(boards) > 1 {
				line += " board=" + b.Slug
			}
			fmt.Fprintf(dm.Out, "[%s] %s\n", dm.ts(), line)
		}
	}
	dm.health(pending, spawned)
}

// tickBoard ticks one board; ready reports spawnable ready work left on
// it (for the stuck-queue warning).
func (dm *Daemon) tickBoard(ctx context.Context, b Board) (res Result, ready, ok bool) {
	if dm.skipMarked(b) {
		return Result{}, false, false
	}
	if until, skip := dm.corruptTil[b.DB]; skip && time.Now().Before(until) {
		return Result{}, false, false
	}
	st, err := dm.Open(ctx, b, dm.last)
	if err == nil {
		res, err = dm.D.Tick(ctx, st, b, dm.last, false)
		if err == nil {
			ready, _ = hasSpawnable(st, "ready", dm.D.Env.ProfileExists)
		}
		err = errors.Join(err, st.Close())
		if err == nil {
			return res, ready, true
		}
	}
	if store.IsCorrupt(err) || errors.Is(err, board.ErrDamaged) {
		if board.Refuse(b.DB, "") != nil {
			// Marked now (by this tick's store, or by anyone since the
			// skip above): the next rounds skip it without a word.
			dm.setMarked(b.DB)
			fmt.Fprintf(dm.Err, "[%s] board %s is damaged; not dispatching it until it is repaired: %v\n", dm.ts(), b.Slug, err)
			return Result{}, false, false
		}
		if dm.corruptTil == nil {
			dm.corruptTil = map[string]time.Time{}
		}
		dm.corruptTil[b.DB] = time.Now().Add(corruptRetryWait)
		fmt.Fprintf(dm.Err, "[%s] board %s is corrupt; skipping it for %v: %v\n", dm.ts(), b.Slug, corruptRetryWait, err)
		return Result{}, false, false
	}
	fmt.Fprintf(dm.Err, "[%s] board %s: tick failed: %v\n", dm.ts(), b.Slug, err)
	return Result{}, false, false
}

// health warns when ready work sits unspawned for healthWindow rounds
// (rounds where a cap was full do not count: that work is queued).
func (dm *Daemon) health(pending, spawned bool) {
	if pending && !spawned {
		dm.badTicks++
	} else {
		dm.badTicks = 0
	}
	if dm.badTicks < healthWindow || time.Since(dm.lastWarn) < healthWarnEvery {
		return
	}
	fmt.Fprintf(dm.Err, "[%s] WARN dispatcher stuck: ready queue non-empty for %d consecutive ticks but 0 workers spawned "+
		"successfully. Check profile health (venv, PATH, credentials) and `hermes kanban list --status ready` / "+
		"`hermes kanban list --status blocked` for recent spawn_failed tasks.\n", dm.ts(), dm.badTicks)
	dm.lastWarn = time.Now()
}

// Logf writes one log line, "[time] …", on the daemon's stderr: for the
// work its hooks do (AfterHealthy).
func (dm *Daemon) Logf(format string, args ...any) {
	fmt.Fprintf(dm.Err, "[%s] %s\n", dm.ts(), fmt.Sprintf(format, args...))
}

// ts is upstream's _fmt_ts of now: "%Y-%m-%d %H:%M" local time.
func (dm *Daemon) ts() string {
	now := time.Now
	if dm.Now != nil {
		now = dm.Now
	}
	return now().Format("2006-01-02 15:04")
}
