package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// retentionCutoff is now minus days (clamped so huge values cannot
// overflow; negative days reach into the future, as upstream allows).
func retentionCutoff(now time.Time, days int64) time.Time {
	const limit = 1_000_000_000
	days = min(max(days, -limit), limit)
	return now.Add(-time.Duration(days) * 24 * time.Hour)
}

// GCEvents deletes the events older than days of done and archived tasks,
// keeping `decomposed` events (a decomposition's identity lives until the
// task is deleted), as upstream's gc_events does. It returns the count.
func (s *Store) GCEvents(ctx context.Context, days int64) (int64, error) {
	cutoff := retentionCutoff(s.clock(), days).Unix()
	var n int64
	err := s.Write(ctx, "gc events", func() error {
		var err error
		n, err = sqlx.Exec(s.conn, `DELETE FROM task_events WHERE created_at < ? AND kind != 'decomposed'
			AND task_id IN (SELECT id FROM tasks WHERE status IN ('done', 'archived'))`, cutoff)
		return err
	})
	return n, err
}

// GCWorkspaces removes the managed scratch workspaces of archived tasks,
// and of done tasks none of whose children still needs the handoff files.
// Only directories directly under the board's workspaces root are ever
// removed; dir and worktree workspaces are the user's and are left alone.
func (s *Store) GCWorkspaces(ctx context.Context) (int, error) {
	var cands []*Task
	err := sqlx.Query(s.conn, "SELECT * FROM tasks WHERE status IN ('archived', 'done') AND workspace_kind = 'scratch'", nil, func(r *sqlx.Row) error {
		cands = append(cands, scanTask(r))
		return nil
	})
	if err != nil {
		return 0, s.classify(err)
	}
	removed := 0
	for _, t := range cands {
		if err := ctx.Err(); err != nil {
			return removed, context.Cause(ctx)
		}
		dir, err := s.gcWorkspaceDir(t)
		if err != nil {
			return removed, err
		}
		if dir == "" {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			return removed, err
		}
		removed++
	}
	return removed, nil
}

// gcWorkspaceDir is the task's removable scratch directory, or "".
func (s *Store) gcWorkspaceDir(t *Task) (string, error) {
	dir := filepath.Join(s.opts.Paths.WorkspacesRoot, t.ID)
	if t.WorkspacePath != nil && *t.WorkspacePath != "" {
		dir = filepath.Clean(*t.WorkspacePath)
	}
	if !isManagedScratch(dir, s.opts.Paths) {
		return "", nil
	}
	st, err := os.Lstat(dir)
	if err != nil || !st.IsDir() {
		return "", nil // gone already, or a symlink we must not follow
	}
	if t.Status == "done" {
		kids, err := s.ChildIDs(t.ID)
		if err != nil {
			return "", err
		}
		for _, k := range kids {
			if st, err := s.taskStatus(k); err != nil || (st != "done" && st != "archived") {
				return "", err
			}
		}
	}
	return dir, nil
}

// GCLogs deletes worker log files in dir last written more than days ago;
// it returns how many it removed (a missing dir is zero).
func GCLogs(dir string, days int64, now time.Time) (int, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	cutoff := retentionCutoff(now, days)
	removed := 0
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() || !st.ModTime().Before(cutoff) {
			continue
		}
		if os.Remove(p) == nil {
			removed++
		}
	}
	return removed, nil
}
