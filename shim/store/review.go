package store

import (
	"context"
	"strings"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// ReviewRequest is what `request-review` hands off.
type ReviewRequest struct {
	Summary  *string
	Metadata py.Object // nil when not given
	// Reviewer reassigns the task; nil re-uses the reviewer of the latest
	// changes_requested round.
	Reviewer    *string
	ExpectedRun *int64
	// Force clears a live worker's claim without owning its run.
	Force bool
}

// RequestReview moves a running or ready task to review (upstream's
// request_review): the implementer and reviewer are recorded on the
// review_requested event so a later request-changes routes back, the run
// is closed as review_requested (or synthesized when the handoff carries
// a summary or metadata), and declared scratch artifacts are staged into
// attachments. It never touches block recurrence accounting. On refusal it
// returns false and upstream's reason.
func (s *Store) RequestReview(ctx context.Context, id string, rq ReviewRequest) (ok bool, reason string, err error) {
	t, err := s.GetTask(id)
	if err != nil {
		return false, "", err
	}
	meta, err := s.mergeProseArtifacts(t, rq.Metadata, rq.Summary, nil)
	if err != nil {
		return false, "", err
	}
	err = s.Write(ctx, "request-review "+id, func() error {
		reason, err = s.requestReview(id, rq, meta)
		ok = err == nil && reason == ""
		return err
	})
	return ok, reason, err
}

func (s *Store) requestReview(id string, rq ReviewRequest, meta py.Object) (string, error) {
	if ok, err := s.parentsSatisfied(id); err != nil || !ok {
		return "parent dependencies are not satisfied", err
	}
	var status string
	var implementer, lock *string
	found := false
	err := sqlx.Query(s.conn, "SELECT assignee, status, claim_lock FROM tasks WHERE id = ?", []any{id}, func(r *sqlx.Row) error {
		implementer, status, lock, found = r.NullText("assignee"), r.Text("status"), r.NullText("claim_lock"), true
		return nil
	})
	if err != nil || !found {
		return "task not found", err
	}
	if rq.ExpectedRun == nil && !rq.Force && status == "running" && lock != nil {
		return "task is running under a live claim; pass expected_run_id (worker ownership) or force=True " +
			"(explicit operator override) instead of clearing the live run's claim", nil
	}
	reviewer := rq.Reviewer
	if reviewer == nil {
		prior, known, err := s.priorReviewer(id)
		if err != nil {
			return "", err
		}
		if !known {
			return "re-review has no durable reviewer provenance (the latest changes_requested event is missing or malformed); pass reviewer= explicitly", nil
		}
		reviewer = prior
	}
	if reviewer != nil {
		r := strings.ToLower(strings.TrimSpace(*reviewer))
		reviewer = &r
	}
	if changed, err := s.moveToReview(id, reviewer, rq.ExpectedRun); err != nil || !changed {
		return "task is not in running/ready (or expected_run_id did not match the current run)", err
	}
	return "", s.closeForReview(id, rq.Summary, meta, implementer, reviewer)
}

// moveToReview is the review CAS: running|ready -> review, claim cleared,
// optionally reassigned to the reviewer and guarded by the run id.
func (s *Store) moveToReview(id string, reviewer *string, expectedRun *int64) (bool, error) {
	q := "UPDATE tasks SET status = 'review', claim_lock = NULL, claim_expires = NULL, worker_pid = NULL"
	var args []any
	if reviewer != nil {
		q += ", assignee = ?"
		args = append(args, *reviewer)
	}
	q += " WHERE id = ? AND status IN ('running', 'ready')"
	args = append(args, id)
	if expectedRun != nil {
		q += " AND current_run_id = ?"
		args = append(args, *expectedRun)
	}
	n, err := sqlx.Exec(s.conn, q, args...)
	return n == 1, err
}

// closeForReview stages artifacts, closes (or synthesizes) the run and
// records review_requested.
func (s *Store) closeForReview(id string, summary *string, meta py.Object, implementer, reviewer *string) error {
	if meta != nil {
		if err := s.stageArtifacts(id, meta, "kanban_request_review"); err != nil {
			return err
		}
	}
	var metaArg any
	if len(meta) > 0 {
		metaArg = meta
	}
	runID, err := s.endOrSynthesizeRun(id, "review_requested", "review", summary, metaArg, truthy(summary) || len(meta) > 0)
	if err != nil {
		return err
	}
	payload := py.Obj("summary", firstLineOrNil(summary, 400), "implementer", implementer, "reviewer", reviewer)
	if arts := artifactPaths(meta); len(arts) > 0 {
		payload = payload.Set("artifacts", arts)
	}
	return s.appendEvent(id, "review_requested", payload, runID)
}

// priorReviewer is the reviewer recorded by the latest changes_requested
// round: (nil, true) for a first review, (nil, false) when that round's
// event is missing or names no reviewer.
func (s *Store) priorReviewer(id string) (*string, bool, error) {
	runID, found, err := sqlx.QueryInt(s.conn, "SELECT id FROM task_runs WHERE task_id = ? AND outcome = 'changes_requested' ORDER BY id DESC LIMIT 1", id)
	if err != nil || !found {
		return nil, true, err
	}
	payload, _, err := s.latestEvent(id, "changes_requested", &runID)
	if err != nil {
		return nil, false, err
	}
	if r := nonBlank(jsonDict(payload), "reviewer"); r != nil {
		return r, true, nil
	}
	return nil, false, nil
}

// latestEvent is the payload text of the newest event of kind (optionally
// of one run) and whether there is such an event at all.
func (s *Store) latestEvent(id, kind string, runID *int64) (*string, bool, error) {
	q := "SELECT payload FROM task_events WHERE task_id = ? AND kind = ?"
	args := []any{id, kind}
	if runID != nil {
		q += " AND run_id = ?"
		args = append(args, *runID)
	}
	var payload *string
	found := false
	err := sqlx.Query(s.conn, q+" ORDER BY id DESC LIMIT 1", args, func(r *sqlx.Row) error {
		payload, found = r.NullText("payload"), true
		return nil
	})
	return payload, found, err
}

// nonBlank is o[key] when it is a string with something besides spaces.
func nonBlank(o py.Object, key string) *string {
	v, ok := o.String(key)
	if !ok || py.Strip(v) == "" {
		return nil
	}
	return &v
}

// RequestChanges is the reviewer's verdict (upstream's request_changes):
// the active run, which must have been claimed from review, closes as
// changes_requested and the task goes back to the implementer named by
// the latest review_requested event, ready or todo by its parents. On
// success detail is the implementer; on refusal, upstream's reason.
func (s *Store) RequestChanges(ctx context.Context, id, reason string, expectedRun *int64) (ok bool, detail string, err error) {
	reason = py.Strip(reason)
	if reason == "" {
		return false, "reason is required", nil
	}
	err = s.Write(ctx, "request-changes "+id, func() error {
		detail, ok, err = s.requestChanges(id, reason, expectedRun)
		return err
	})
	return ok, detail, err
}

func (s *Store) requestChanges(id, reason string, expectedRun *int64) (string, bool, error) {
	var status string
	var assignee *string
	var current *int64
	found := false
	err := sqlx.Query(s.conn, "SELECT status, assignee, current_run_id FROM tasks WHERE id = ?", []any{id}, func(r *sqlx.Row) error {
		status, assignee, current, found = r.Text("status"), r.NullText("assignee"), r.NullInt("current_run_id"), true
		return nil
	})
	switch {
	case err != nil:
		return "", false, err
	case !found:
		return "task not found", false, nil
	case status != "running" || current == nil || *current == 0:
		return "task is not in an active review run", false, nil
	case expectedRun != nil && *expectedRun != *current:
		return "run_id mismatch", false, nil
	}
	claimed, _, err := s.latestEvent(id, "claimed", current)
	if err != nil {
		return "", false, err
	}
	if src, _ := jsonDict(claimed).String("source_status"); src != "review" {
		return "active run was not claimed from review", false, nil
	}
	requested, found, err := s.latestEvent(id, "review_requested", nil)
	if err != nil || !found {
		return "no prior review_requested event", false, err
	}
	implementer := nonBlank(jsonDict(requested), "implementer")
	if implementer == nil {
		return "review handoff has no valid implementer provenance", false, nil
	}
	return s.returnToImplementer(id, reason, *implementer, assignee, *current)
}

// returnToImplementer hands the task back; the failure counter is kept on
// purpose (a review round is not evidence the pathology cleared).
func (s *Store) returnToImplementer(id, reason, implementer string, assignee *string, run int64) (string, bool, error) {
	var reviewer *string
	if assignee != nil && py.Strip(*assignee) != "" {
		r := strings.ToLower(strings.TrimSpace(*assignee))
		reviewer = &r
	}
	landing, err := s.landingAfterParents(id)
	if err != nil {
		return "", false, err
	}
	n, err := sqlx.Exec(s.conn, `UPDATE tasks SET status = ?, assignee = COALESCE(?, assignee), claim_lock = NULL,
		claim_expires = NULL, worker_pid = NULL WHERE id = ? AND status = 'running' AND current_run_id = ?`, landing, implementer, id, run)
	if err != nil || n != 1 {
		return "task changed during review handoff", false, err
	}
	runID, err := s.endRun(id, "changes_requested", landing, &reason, nil, nil)
	if err != nil {
		return "", false, err
	}
	payload := py.Obj("reason", reason, "implementer", implementer, "reviewer", reviewer, "status", landing)
	return implementer, true, s.appendEvent(id, "changes_requested", payload, runID)
}

// ReopenReview sends a task in review back to its implementer (upstream's
// reopen_review_task): ready or todo by its parents, the implementer from
// the latest review_requested event restored as assignee. The failure
// counter and block loop counter are kept. False when not in review.
func (s *Store) ReopenReview(ctx context.Context, id string) (bool, error) {
	ok := false
	err := s.Write(ctx, "reopen-review "+id, func() error {
		if err := s.reclaimDanglingRun(id, []string{"review"}, "invariant recovery on review reopen"); err != nil {
			return err
		}
		landing, err := s.landingAfterParents(id)
		if err != nil {
			return err
		}
		requested, _, err := s.latestEvent(id, "review_requested", nil)
		if err != nil {
			return err
		}
		implementer := nonBlank(jsonDict(requested), "implementer")
		q := "UPDATE tasks SET status = ?, current_run_id = NULL, claim_lock = NULL, claim_expires = NULL, worker_pid = NULL"
		args := []any{landing}
		if implementer != nil {
			q += ", assignee = ?"
			args = append(args, *implementer)
		}
		n, err := sqlx.Exec(s.conn, q+" WHERE id = ? AND status = 'review'", append(args, id)...)
		if err != nil || n != 1 {
			return err
		}
		payload := py.Obj("status", landing)
		if implementer != nil {
			payload = payload.Set("implementer", *implementer)
		} else if landing == "ready" {
			payload = nil
		}
		ok = true
		return s.appendEvent(id, "review_reopened", payload, nil)
	})
	return ok, err
}
