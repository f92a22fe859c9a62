package store

import (
	"context"
	"fmt"

	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// ArchiveTask archives a task (any status but archived), closing an open
// run as reclaimed; a running task's worker is stopped after the commit.
func (s *Store) ArchiveTask(ctx context.Context, id string) (bool, error) {
	ok, wasRunning := false, false
	var pid *int64
	var lock *string
	var runID *int64
	err := s.Write(ctx, "archive "+id, func() error {
		var status string
		found := false
		err := sqlx.Query(s.conn, "SELECT status, claim_lock, worker_pid FROM tasks WHERE id = ?", []any{id}, func(r *sqlx.Row) error {
			status, lock, pid, found = r.Text("status"), r.NullText("claim_lock"), r.NullInt("worker_pid"), true
			return nil
		})
		if err != nil || !found {
			return err
		}
		wasRunning = status == "running"
		n, err := sqlx.Exec(s.conn, "UPDATE tasks SET status = 'archived', claim_lock = NULL, claim_expires = NULL, worker_pid = NULL WHERE id = ? AND status != 'archived'", id)
		if err != nil || n != 1 {
			return err
		}
		note := "task archived with run still active"
		if runID, err = s.endRun(id, "reclaimed", "reclaimed", &note, nil, nil); err != nil {
			return err
		}
		ok = true
		return s.appendEvent(id, "archived", nil, runID)
	})
	if err != nil || !ok {
		return ok, err
	}
	if wasRunning {
		term := s.Terminate(ctx, pid, lock)
		if err := s.Write(ctx, "archive "+id, func() error {
			return s.appendEvent(id, "archive_worker_termination", term.Object(), runID)
		}); err != nil {
			return true, err
		}
	}
	s.afterCommit(ctx, id)
	return true, nil
}

// deleteRelations removes every row that references the task (the schema
// has no ON DELETE CASCADE). Attachments are left, as upstream does.
func (s *Store) deleteRelations(id string) error {
	if _, err := sqlx.Exec(s.conn, "DELETE FROM task_links WHERE parent_id = ? OR child_id = ?", id, id); err != nil {
		return err
	}
	for _, t := range []string{"task_comments", "task_events", "task_runs", "kanban_notify_subs"} {
		if _, err := sqlx.Exec(s.conn, "DELETE FROM "+t+" WHERE task_id = ?", id); err != nil {
			return err
		}
	}
	return nil
}

// DeleteArchivedTask hard-deletes an archived task and its related rows;
// false for anything not archived (deletion takes two deliberate steps).
func (s *Store) DeleteArchivedTask(ctx context.Context, id string) (bool, error) {
	ok := false
	err := s.Write(ctx, "archive --rm "+id, func() error {
		st, err := s.taskStatus(id)
		if err != nil || st != "archived" {
			return err
		}
		if err := s.deleteRelations(id); err != nil {
			return err
		}
		n, err := sqlx.Exec(s.conn, "DELETE FROM tasks WHERE id = ?", id)
		ok = n == 1
		return err
	})
	return ok, err
}

// afterCommit runs the follow-ups of a committed completion or archive:
// promote children whose parents are now finished, and remove the managed
// scratch workspace. The transition itself is durable, so a failure here
// is a warning, not a failed command (the next tick or list promotes).
func (s *Store) afterCommit(ctx context.Context, id string) {
	if _, err := s.RecomputeReady(ctx, 0); err != nil {
		s.log.Warn(fmt.Sprintf("warning: %s is done, but promoting its children failed (the next dispatcher tick or list retries): %v", id, err))
	}
	s.cleanupWorkspace(id)
}
