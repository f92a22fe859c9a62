package store

import (
	"context"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// DefaultFailureLimit is upstream's consecutive-failure breaker default.
const DefaultFailureLimit = 2

type promoteCandidate struct {
	id, status string
	failures   int64
	maxRetries *int64
}

// RecomputeReady promotes todo and (non-sticky, under-limit) blocked tasks
// whose parents are all done or archived, returning how many moved. The
// candidates are found with a plain read first, so the common case (nothing
// to promote) takes no lease and writes nothing; the promotion itself
// re-checks everything inside its transaction.
func (s *Store) RecomputeReady(ctx context.Context, failureLimit int64) (int, error) {
	if failureLimit <= 0 {
		failureLimit = DefaultFailureLimit
	}
	cands, err := s.promotable(failureLimit)
	if err != nil || len(cands) == 0 {
		return 0, s.classify(err)
	}
	promoted := 0
	err = s.Write(ctx, "recompute ready", func() error {
		cands, err := s.promotable(failureLimit)
		if err != nil {
			return err
		}
		promoted = 0
		for _, c := range cands {
			resume, err := s.resumeStatusFromEvents(c.id)
			if err != nil {
				return err
			}
			if _, err := sqlx.Exec(s.conn, "UPDATE tasks SET status = ? WHERE id = ? AND status = ?", resume, c.id, c.status); err != nil {
				return err
			}
			var payload py.Object
			if resume != "ready" {
				payload = py.Obj("status", resume)
			}
			if err := s.appendEvent(c.id, "promoted", payload, nil); err != nil {
				return err
			}
			promoted++
		}
		return nil
	})
	return promoted, err
}

// promotable lists the todo/blocked tasks recompute_ready would promote,
// in upstream's scan order.
func (s *Store) promotable(failureLimit int64) ([]promoteCandidate, error) {
	var all []promoteCandidate
	err := sqlx.Query(s.conn, "SELECT id, status, consecutive_failures, max_retries FROM tasks WHERE status IN ('todo', 'blocked')", nil, func(r *sqlx.Row) error {
		all = append(all, promoteCandidate{id: r.Text("id"), status: r.Text("status"), failures: r.Int("consecutive_failures"), maxRetries: r.NullInt("max_retries")})
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []promoteCandidate
	for _, c := range all {
		if c.status == "blocked" {
			sticky, err := s.hasStickyBlock(c.id)
			if err != nil {
				return nil, err
			}
			if sticky {
				continue
			}
		}
		ok, err := s.parentsSatisfied(c.id)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if c.status == "blocked" {
			limit := failureLimit
			if c.maxRetries != nil {
				limit = *c.maxRetries
			}
			if c.failures >= limit {
				continue
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// hasStickyBlock: the newest blocked/unblocked event is an explicit block,
// which only an unblock may lift.
func (s *Store) hasStickyBlock(id string) (bool, error) {
	kind, found, err := sqlx.QueryText(s.conn, "SELECT kind FROM task_events WHERE task_id = ? AND kind IN ('blocked', 'unblocked') ORDER BY id DESC LIMIT 1", id)
	return found && kind == "blocked", err
}

// resumeStatusFromEvents is review when the newest lifecycle event says the
// task left off in review, else ready.
func (s *Store) resumeStatusFromEvents(id string) (string, error) {
	var payload *string
	err := sqlx.Query(s.conn, `SELECT payload FROM task_events WHERE task_id = ? AND kind IN (
		'blocked', 'block_loop_detected', 'dependency_wait', 'gave_up', 'unblocked', 'changes_requested',
		'review_reopened', 'status', 'reclaimed', 'stale', 'timed_out', 'crashed', 'spawn_failed', 'rate_limited')
		ORDER BY id DESC LIMIT 1`, []any{id}, func(r *sqlx.Row) error {
		payload = r.NullText("payload")
		return nil
	})
	if err != nil {
		return "", err
	}
	p := jsonDict(payload)
	for _, k := range []string{"resume_status", "retry_status", "source_status"} {
		if v, _ := p.String(k); v == "review" {
			return "review", nil
		}
	}
	return "ready", nil
}
