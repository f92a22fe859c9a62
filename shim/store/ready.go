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
	if s.hotCopy != "" {
		return 0, nil // reading a private copy: promotion is left to the next writer
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
// in upstream's scan order. The parent and sticky-block checks run inside
// the one query, so a big board costs one scan rather than two queries per
// waiting task.
func (s *Store) promotable(failureLimit int64) ([]promoteCandidate, error) {
	var out []promoteCandidate
	err := sqlx.Query(s.conn, `SELECT t.id AS id, t.status AS status, t.consecutive_failures AS failures, t.max_retries AS max_retries
		FROM tasks t WHERE t.status IN ('todo', 'blocked')
		AND NOT EXISTS (SELECT 1 FROM task_links l JOIN tasks p ON p.id = l.parent_id
			WHERE l.child_id = t.id AND p.status NOT IN ('done', 'archived'))
		AND (t.status = 'todo' OR COALESCE((SELECT e.kind FROM task_events e
			WHERE e.task_id = t.id AND e.kind IN ('blocked', 'unblocked') ORDER BY e.id DESC LIMIT 1), '') != 'blocked')`,
		nil, func(r *sqlx.Row) error {
			c := promoteCandidate{id: r.Text("id"), status: r.Text("status"), failures: r.Int("failures"), maxRetries: r.NullInt("max_retries")}
			limit := failureLimit
			if c.maxRetries != nil {
				limit = *c.maxRetries
			}
			if c.status == "todo" || c.failures < limit {
				out = append(out, c)
			}
			return nil
		})
	return out, err
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
