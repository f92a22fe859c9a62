package store

import (
	"context"
	"errors"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// BlockKinds are the typed block reasons.
var BlockKinds = []string{"capability", "dependency", "needs_input", "transient"}

// BlockRecurrenceLimit re-blocks for the same kind before triage.
const BlockRecurrenceLimit = 2

// Note is an audit comment written in the same transaction as a
// transition (upstream's "BLOCKED: reason"), so a refused transition
// leaves no stray comment behind.
type Note struct{ Author, Body string }

// errNoChange rolls back a transaction whose transition was refused.
var errNoChange = errors.New("store: transition refused")

// noted runs a transition with its audit comment in one transaction; a
// refused transition (ok false) rolls the comment back.
func (s *Store) noted(ctx context.Context, op, id string, note *Note, fn func() (bool, error)) (bool, error) {
	ok := false
	err := s.Write(ctx, op+" "+id, func() error {
		if note != nil {
			if _, err := s.addComment(id, note.Author, note.Body); err != nil {
				return err
			}
		}
		var err error
		if ok, err = fn(); err != nil {
			return err
		}
		if !ok && note != nil {
			return errNoChange
		}
		return nil
	})
	if errors.Is(err, errNoChange) {
		return false, nil
	}
	return ok, err
}

// BlockTask routes a running or ready task to blocked, todo (dependency
// wait) or triage (unblock loop), closing its run, as upstream does.
func (s *Store) BlockTask(ctx context.Context, id string, reason, kind *string, expectedRun *int64) (bool, error) {
	return s.BlockTaskNoted(ctx, id, reason, kind, expectedRun, nil)
}

// BlockTaskNoted is BlockTask with its audit comment in the same
// transaction.
func (s *Store) BlockTaskNoted(ctx context.Context, id string, reason, kind *string, expectedRun *int64, note *Note) (bool, error) {
	if kind != nil && !contains(BlockKinds, *kind) {
		return false, invalid("block kind must be one of %s or None", pyList(BlockKinds))
	}
	return s.noted(ctx, "block", id, note, func() (bool, error) {
		return s.blockTx(id, reason, kind, expectedRun)
	})
}

func (s *Store) blockTx(id string, reason, kind *string, expectedRun *int64) (bool, error) {
	var status string
	var prevKind *string
	var prevRec int64
	found := false
	err := sqlx.Query(s.conn, "SELECT status, block_kind, block_recurrences FROM tasks WHERE id = ?", []any{id}, func(r *sqlx.Row) error {
		status, prevKind, prevRec, found = r.Text("status"), emptyNil(r.NullText("block_kind")), r.Int("block_recurrences"), true
		return nil
	})
	if err != nil || !found {
		return false, err
	}
	source := "ready"
	if status == "running" {
		if source, err = s.retryStatusForRun(id, nil); err != nil {
			return false, err
		}
	}
	newStatus, event, payload, rec := routeBlock(kind, reason, source, prevKind, prevRec)
	q := "UPDATE tasks SET status = ?, claim_lock = NULL, claim_expires = NULL, worker_pid = NULL, block_kind = ?"
	args := []any{newStatus, kind}
	if rec != nil {
		q += ", block_recurrences = ?"
		args = append(args, *rec)
	}
	q += " WHERE id = ? AND status IN ('running', 'ready')"
	args = append(args, id)
	if expectedRun != nil {
		q += " AND current_run_id = ?"
		args = append(args, *expectedRun)
	}
	if n, err := sqlx.Exec(s.conn, q, args...); err != nil || n != 1 {
		return false, err
	}
	runID, err := s.endOrSynthesizeRun(id, "blocked", "blocked", reason, nil, truthy(reason))
	if err != nil {
		return false, err
	}
	return true, s.appendEvent(id, event, payload, runID)
}

// routeBlock is upstream's _route_block: dependency waits in todo; other
// kinds count same-kind re-blocks and go to triage at the limit.
func routeBlock(kind, reason *string, source string, prevKind *string, prevRec int64) (status, event string, payload py.Object, rec *int64) {
	if kind != nil && *kind == "dependency" {
		return "todo", "dependency_wait", py.Obj("reason", reason, "kind", kind, "source_status", source), nil
	}
	n := int64(1)
	if Str(prevKind) == Str(kind) && (prevKind == nil) == (kind == nil) {
		n = prevRec + 1
	}
	payload = py.Obj("reason", reason, "kind", kind, "recurrences", n, "source_status", source)
	if n >= BlockRecurrenceLimit {
		return "triage", "block_loop_detected", payload.Set("limit", int64(BlockRecurrenceLimit)), &n
	}
	return "blocked", "blocked", payload, &n
}

// UnblockTask returns a blocked or scheduled task to where it can resume:
// ready (or review) when its parents are done, else todo.
func (s *Store) UnblockTask(ctx context.Context, id string) (bool, error) {
	return s.UnblockTaskNoted(ctx, id, nil)
}

// UnblockTaskNoted is UnblockTask with its audit comment in the same
// transaction.
func (s *Store) UnblockTaskNoted(ctx context.Context, id string, note *Note) (bool, error) {
	return s.noted(ctx, "unblock", id, note, func() (bool, error) {
		return s.unblockTx(id)
	})
}

func (s *Store) unblockTx(id string) (bool, error) {
	st, err := s.taskStatus(id)
	if err != nil {
		return false, err
	}
	resume := "ready"
	if st == "blocked" {
		if resume, err = s.resumeStatusFromEvents(id); err != nil {
			return false, err
		}
	}
	if err := s.reclaimDanglingRun(id, []string{"blocked", "scheduled"}, "invariant recovery on unblock"); err != nil {
		return false, err
	}
	landing, err := s.landingAfterParents(id)
	if err != nil {
		return false, err
	}
	newStatus := landing
	if landing == "ready" && resume == "review" {
		newStatus = "review"
	}
	n, err := sqlx.Exec(s.conn, `UPDATE tasks SET status = ?, current_run_id = NULL, consecutive_failures = 0, last_failure_error = NULL
			WHERE id = ? AND status IN ('blocked', 'scheduled')`, newStatus, id)
	if err != nil || n != 1 {
		return false, err
	}
	var payload py.Object
	if newStatus != "ready" || resume != "ready" {
		payload = py.Obj("status", newStatus, "resume_status", resume)
	}
	return true, s.appendEvent(id, "unblocked", payload, nil)
}

// ScheduleTask parks a task in scheduled until an unblock.
func (s *Store) ScheduleTask(ctx context.Context, id string, reason *string, expectedRun *int64) (bool, error) {
	return s.ScheduleTaskNoted(ctx, id, reason, expectedRun, nil)
}

// ScheduleTaskNoted is ScheduleTask with its audit comment in the same
// transaction.
func (s *Store) ScheduleTaskNoted(ctx context.Context, id string, reason *string, expectedRun *int64, note *Note) (bool, error) {
	return s.noted(ctx, "schedule", id, note, func() (bool, error) {
		q := `UPDATE tasks SET status = 'scheduled', claim_lock = NULL, claim_expires = NULL, worker_pid = NULL
			WHERE id = ? AND status IN ('todo', 'ready', 'running', 'blocked')`
		args := []any{id}
		if expectedRun != nil {
			q += " AND current_run_id = ?"
			args = append(args, *expectedRun)
		}
		if n, err := sqlx.Exec(s.conn, q, args...); err != nil || n != 1 {
			return false, err
		}
		runID, err := s.endOrSynthesizeRun(id, "scheduled", "scheduled", reason, nil, truthy(reason))
		if err != nil {
			return false, err
		}
		return true, s.appendEvent(id, "scheduled", py.Obj("reason", reason), runID)
	})
}

// PromoteTask is the operator's todo/blocked -> ready, refused while a
// parent is open. It returns the refusal reason ("" on success).
func (s *Store) PromoteTask(ctx context.Context, id, actor string, reason *string, dryRun bool) (string, error) {
	st, err := s.taskStatus(id)
	if err != nil {
		return "", s.classify(err)
	}
	if st == "" {
		return "task " + id + " not found", nil
	}
	if st != "todo" && st != "blocked" {
		return "task " + id + " is " + py.Repr(st) + "; promote only applies to 'todo' or 'blocked'", nil
	}
	open, err := s.UnsatisfiedParents(id)
	if err != nil {
		return "", err
	}
	if len(open) > 0 {
		ids := ""
		for i, p := range open {
			if i > 0 {
				ids += ", "
			}
			ids += p.ID
		}
		return "unsatisfied parent dependencies: " + ids + " (the ready -> running claim re-checks parents, so promotion cannot bypass them; complete the parents or drop the link with `hermes kanban unlink <parent_id> " + id + "`)", nil
	}
	if dryRun {
		return "", nil
	}
	refusal := ""
	err = s.Write(ctx, "promote "+id, func() error {
		n, err := sqlx.Exec(s.conn, "UPDATE tasks SET status = 'ready' WHERE id = ? AND status IN ('todo', 'blocked')", id)
		if err != nil {
			return err
		}
		if n != 1 {
			refusal = "task " + id + " status changed during promotion"
			return nil
		}
		return s.appendEvent(id, "promoted_manual", py.Obj("actor", actor, "reason", reason), nil)
	})
	return refusal, err
}
