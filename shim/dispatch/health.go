package dispatch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/shim/home"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// EnvHealthCheckInterval overrides kanban.health_check_interval_seconds.
const EnvHealthCheckInterval = "HERMES_KANBAN_HEALTH_CHECK_INTERVAL_SECONDS"

// DefaultHealthCheckInterval is how often the daemon quick_checks every
// board when nothing says otherwise.
const DefaultHealthCheckInterval = 900 * time.Second

// HealthCheckInterval is how often `kanban daemon` runs PRAGMA quick_check
// on every board: HERMES_KANBAN_HEALTH_CHECK_INTERVAL_SECONDS, else
// kanban.health_check_interval_seconds, else 900 s; 0 turns the check off.
// Negative or non-numeric values are errors.
func HealthCheckInterval(getenv func(string) string, cfg home.Config) (time.Duration, error) {
	return seconds(getenv, EnvHealthCheckInterval, cfg, "health_check_interval_seconds",
		" (0 turns the health check off)", DefaultHealthCheckInterval)
}

// healthRound checks every board once (Daemon.Health) and schedules the
// next round. Boards already marked damaged are not checked again.
func (dm *Daemon) healthRound(ctx context.Context) {
	every := dm.last.HealthEvery
	if dm.Health == nil || every <= 0 {
		dm.nextHealth = time.Time{}
		return
	}
	for _, b := range dm.Boards() {
		if ctx.Err() != nil {
			return
		}
		if !dm.skipMarked(b) {
			dm.checkHealth(ctx, b)
		}
	}
	dm.nextHealth = time.Now().Add(every)
}

// checkHealth runs one board's check: a pass calls AfterHealthy; damage
// (the store has recorded the marker and kept a forensic copy) stops
// dispatching on the board, with one log line naming the repair.
func (dm *Daemon) checkHealth(ctx context.Context, b Board) {
	err := dm.Health(ctx, b)
	var ce *store.CorruptError
	switch {
	case err == nil:
		if dm.AfterHealthy != nil {
			dm.AfterHealthy(ctx, b)
		}
	case errors.As(err, &ce):
		dm.setMarked(b.DB)
		fmt.Fprintf(dm.Err, "[%s] board %s failed its health check (%s); not dispatching it until it is repaired "+
			"(forensic copy: %s). To repair it run: %s\n", dm.ts(), b.Slug, ce.Reason, orNone(ce.Snapshot), b.fix())
	case errors.Is(err, fs.ErrNotExist), ctx.Err() != nil:
		// No database yet, or we are stopping: nothing was checked.
	default:
		fmt.Fprintf(dm.Err, "[%s] board %s: health check could not run: %v\n", dm.ts(), b.Slug, err)
	}
}

// healthDue reports whether the next health round is due.
func (dm *Daemon) healthDue() bool {
	return !dm.nextHealth.IsZero() && !time.Now().Before(dm.nextHealth)
}

// skipMarked reports whether b is marked damaged (one failed open(2)
// when it is not). The first time it says so it logs one line with the
// repair command; when the marker is gone again (repaired) it logs that
// dispatching resumes.
func (dm *Daemon) skipMarked(b Board) bool {
	err := board.Refuse(b.DB, "")
	var de *board.DamagedError
	if !errors.As(err, &de) {
		if dm.marked[b.DB] {
			delete(dm.marked, b.DB)
			fmt.Fprintf(dm.Err, "[%s] board %s is no longer marked damaged; dispatching it again\n", dm.ts(), b.Slug)
		}
		return false
	}
	if !dm.marked[b.DB] {
		dm.setMarked(b.DB)
		de.Fix = b.fix()
		fmt.Fprintf(dm.Err, "[%s] not dispatching: %v\n", dm.ts(), de)
	}
	return true
}

// setMarked remembers that db's damage was logged.
func (dm *Daemon) setMarked(db string) {
	if dm.marked == nil {
		dm.marked = map[string]bool{}
	}
	dm.marked[db] = true
}

// fix is the command that repairs the board.
func (b Board) fix() string {
	if b.Fix != "" {
		return b.Fix
	}
	return board.RepairCommand(b.DB, b.Slug)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
