package store

import (
	"context"
	"errors"
	"strings"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// ErrRunning refuses to reassign a task that is running under a claim.
var ErrRunning = errors.New("currently running (claimed)")

// AssignTask sets (nil: clears) the assignee; false for an unknown id.
// A new assignee starts with a fresh failure streak.
func (s *Store) AssignTask(ctx context.Context, id string, profile *string) (bool, error) {
	if profile != nil {
		p := strings.ToLower(strings.TrimSpace(*profile))
		profile = &p
	}
	ok := false
	err := s.Write(ctx, "assign "+id, func() error {
		var status string
		var lock, cur *string
		found := false
		err := sqlx.Query(s.conn, "SELECT status, claim_lock, assignee FROM tasks WHERE id = ?", []any{id}, func(r *sqlx.Row) error {
			status, lock, cur, found = r.Text("status"), r.NullText("claim_lock"), r.NullText("assignee"), true
			return nil
		})
		if err != nil || !found {
			return err
		}
		if lock != nil && status == "running" {
			return invalid("cannot reassign %s: currently running (claimed). Wait for completion or reclaim the stale lock first.", id)
		}
		q := "UPDATE tasks SET assignee = ? WHERE id = ?"
		if Str(cur) != Str(profile) || (cur == nil) != (profile == nil) {
			q = "UPDATE tasks SET assignee = ?, consecutive_failures = 0, last_failure_error = NULL WHERE id = ?"
		}
		if _, err := sqlx.Exec(s.conn, q, profile, id); err != nil {
			return err
		}
		ok = true
		return s.appendEvent(id, "assigned", py.Obj("assignee", profile), nil)
	})
	return ok, err
}

// ReassignTask assigns, reclaiming a running task first when asked; false
// for an unknown id or a task still running.
func (s *Store) ReassignTask(ctx context.Context, id string, profile *string, reclaimFirst bool, reason *string) (bool, error) {
	if reclaimFirst {
		r := "reassign"
		if reason != nil && *reason != "" {
			r = *reason
		}
		if _, err := s.ReclaimTask(ctx, id, &r); err != nil {
			return false, err
		}
	}
	ok, err := s.AssignTask(ctx, id, profile)
	if errors.Is(err, ErrInvalid) {
		return false, nil
	}
	return ok, err
}

// SetModelOverride sets (model nil: clears both) the per-task model and
// provider; refused on archived tasks. False for an unknown id.
func (s *Store) SetModelOverride(ctx context.Context, id string, model, provider *string) (bool, error) {
	model, provider = trimNil(model), trimNil(provider)
	if provider != nil && model == nil {
		return false, invalid("provider_override requires a model_override")
	}
	ok := false
	err := s.Write(ctx, "set-model "+id, func() error {
		st, err := s.taskStatus(id)
		if err != nil || st == "" {
			return err
		}
		if st == "archived" {
			return invalid("cannot set model override on archived task %s", id)
		}
		if _, err := sqlx.Exec(s.conn, "UPDATE tasks SET model_override = ?, provider_override = ? WHERE id = ?", model, provider, id); err != nil {
			return err
		}
		ok = true
		return s.appendEvent(id, "model_override_set", py.Obj("model", model, "provider", provider), nil)
	})
	return ok, err
}

// ReclaimTask is the operator's reclaim: stop the worker, return the task
// to ready (or review), close the run as reclaimed and reset the failure
// counter. False when nothing is claimed.
func (s *Store) ReclaimTask(ctx context.Context, id string, reason *string) (bool, error) {
	var status string
	var lock *string
	var pid *int64
	found := false
	err := sqlx.Query(s.conn, "SELECT status, claim_lock, worker_pid FROM tasks WHERE id = ?", []any{id}, func(r *sqlx.Row) error {
		status, lock, pid, found = r.Text("status"), r.NullText("claim_lock"), r.NullInt("worker_pid"), true
		return nil
	})
	if err != nil || !found || (status != "running" && lock == nil) {
		return false, s.classify(err)
	}
	term := s.Terminate(ctx, pid, lock)
	if term.Survived() {
		// A live worker keeps its claim (else a duplicate spawns beside
		// it): defer, as the dispatcher's reclaim paths do.
		return false, s.DeferReclaim(ctx, id, lock, term, "manual_reclaim_worker_alive")
	}
	ok := false
	err = s.Write(ctx, "reclaim "+id, func() error {
		retry, err := s.retryStatusForRun(id, nil)
		if err != nil {
			return err
		}
		n, err := sqlx.Exec(s.conn, `UPDATE tasks SET status = ?, claim_lock = NULL, claim_expires = NULL, worker_pid = NULL
			WHERE id = ? AND status IN ('running', 'ready', 'blocked') AND claim_lock IS ?`, retry, id, lock)
		if err != nil || n != 1 {
			return err
		}
		errText := "manual_reclaim lock=" + Str(lock)
		if lock == nil {
			errText = "manual_reclaim lock=None"
		}
		if truthy(reason) {
			errText = "manual_reclaim: " + *reason
		}
		payload := py.Obj("manual", true, "reason", reason, "prev_lock", lock, "retry_status", retry)
		if err := s.recordReclaim(id, term, errText, payload); err != nil {
			return err
		}
		ok = true
		return s.clearFailureCounter(id)
	})
	return ok, err
}

// recordReclaim closes the active run as reclaimed (the termination report
// as its metadata) and emits the reclaimed event with the report merged in.
func (s *Store) recordReclaim(id string, term Termination, errText string, payload py.Object) error {
	runID, err := s.endRun(id, "reclaimed", "reclaimed", nil, &errText, term.Object())
	if err != nil {
		return err
	}
	for _, m := range term.Object() {
		payload = payload.Set(m.Key, m.Value)
	}
	return s.appendEvent(id, "reclaimed", payload, runID)
}
