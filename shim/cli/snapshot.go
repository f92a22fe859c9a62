package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/recover"
	"github.com/kanbanshim/kanbanshim/shim/dispatch"
	"github.com/kanbanshim/kanbanshim/shim/home"
)

// snapshotAfterHealthy is kanban daemon's AfterHealthy hook: right after
// a board passed its health check, a verified snapshot of it
// (recover.Snapshot, as `kanban-recover snapshot` takes) when its newest
// snapshot is older than kanban.snapshot_interval_seconds, pruned to
// kanban.snapshot_keep. The daemon checks boards one at a time, so it
// snapshots them one at a time; each snapshot, taken or not, is one line
// on its stderr. The settings are read each time, as config.yaml edits
// apply without a restart. The last attempt on each board is remembered
// to the instant (a failed one too, so a board short of space is tried
// once an interval, not at every check); at start the newest snapshot's
// name says when the last one was taken.
func (a *App) snapshotAfterHealthy(dm *dispatch.Daemon) func(ctx context.Context, b dispatch.Board) {
	last := map[string]time.Time{}
	return func(ctx context.Context, b dispatch.Board) {
		every, keep, err := a.snapshotSettings()
		if err != nil {
			dm.Logf("board %s: no snapshot: %v", b.Slug, err)
			return
		}
		if every <= 0 {
			return
		}
		dir := snapshotDir(a.boards, b.Slug, b.DB)
		if _, ok := last[b.DB]; !ok {
			if _, when, err := recover.LatestSnapshot(dir, b.DB); err == nil {
				last[b.DB] = when
			}
		}
		if when, ok := last[b.DB]; ok && a.now().Sub(when) < every {
			return
		}
		last[b.DB] = a.now()
		rep, err := recover.Snapshot(ctx, recover.SnapshotOptions{DBPath: b.DB, Dir: dir, Keep: keep,
			BusyTimeout: home.BusyTimeout(a.Env), Now: a.Now})
		if err != nil {
			if ctx.Err() == nil {
				dm.Logf("board %s: snapshot not taken: %s", b.Slug, oneLine(err.Error()))
			}
			return
		}
		dm.Logf("board %s: snapshot taken: %s (%.1f MiB, %d tasks, integrity_check ok, %s); %d kept, %d pruned",
			b.Slug, rep.Path, float64(rep.Bytes)/(1<<20), rep.Tasks,
			(time.Duration(rep.DurationMS) * time.Millisecond).Round(time.Millisecond), len(rep.Kept), len(rep.Pruned))
	}
}

// snapshotSettings are the daemon's snapshot interval (0: none) and how
// many snapshots a board keeps.
func (a *App) snapshotSettings() (time.Duration, int, error) {
	cfg, _ := home.LoadConfig(a.Env)
	every, err := home.SnapshotInterval(a.Env, cfg)
	if err != nil {
		return 0, 0, err
	}
	keep, err := home.SnapshotKeep(cfg)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", cfg.Path, err)
	}
	return every, keep, nil
}

// snapshotDir is where a board's snapshots live: next to its quarantine,
// where kanban-recover snapshot puts them.
func snapshotDir(b *home.Boards, slug, db string) string {
	return filepath.Join(setsDir(b, slug, db), board.Snapshot.Dir)
}
