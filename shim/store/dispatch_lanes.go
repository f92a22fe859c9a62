package store

import (
	"context"
	"regexp"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// Respawn-guard constants, as upstream.
const (
	// DefaultRateLimitCooldown is DEFAULT_RATE_LIMIT_COOLDOWN_SECONDS.
	DefaultRateLimitCooldown = 300
	respawnSuccessWindow     = 3600
	respawnPRWindow          = 86400
)

var (
	respawnBlockerRe = regexp.MustCompile(`(?i)\b(quota|rate[\s_\-]?limit|429|403|auth\w*|unauthorized|forbidden|billing|subscription|access[\s_]denied|permission[\s_]denied|invalid[\s_]api[\s_]key)\b`)
	respawnPRURLRe   = regexp.MustCompile(`(?i)https?://github\.com/[^/\s]+/[^/\s]+/pull/\d+`)
)

// LaneRow is an unclaimed task of a dispatch lane.
type LaneRow struct {
	ID       string
	Assignee *string
}

// LaneRows lists a lane's unclaimed tasks in dispatch order (priority
// DESC, created_at ASC), as upstream's _lane_rows.
func (s *Store) LaneRows(status string) ([]LaneRow, error) {
	var out []LaneRow
	err := sqlx.Query(s.conn, "SELECT id, assignee FROM tasks WHERE status = ? AND claim_lock IS NULL ORDER BY priority DESC, created_at ASC",
		[]any{status}, func(r *sqlx.Row) error {
			out = append(out, LaneRow{ID: r.Text("id"), Assignee: emptyNil(r.NullText("assignee"))})
			return nil
		})
	return out, s.classify(err)
}

// CountRunning is upstream's count_running_tasks.
func (s *Store) CountRunning() (int64, error) {
	n, _, err := sqlx.QueryInt(s.conn, "SELECT COUNT(*) FROM tasks WHERE status = 'running'")
	return n, s.classify(err)
}

// RunningByAssignee counts running tasks per assignee.
func (s *Store) RunningByAssignee() (map[string]int64, error) {
	out := map[string]int64{}
	err := sqlx.Query(s.conn, "SELECT assignee, COUNT(*) AS n FROM tasks WHERE status = 'running' AND assignee IS NOT NULL GROUP BY assignee",
		nil, func(r *sqlx.Row) error {
			out[r.Text("assignee")] = r.Int("n")
			return nil
		})
	return out, s.classify(err)
}

// HasSpawnable reports whether a lane holds an assigned, unclaimed task
// whose assignee passes exists (upstream's has_spawnable_ready).
func (s *Store) HasSpawnable(status string, exists func(string) bool) (bool, error) {
	names, err := sqlx.QueryStrings(s.conn, "SELECT DISTINCT assignee FROM tasks WHERE status = ? AND assignee IS NOT NULL AND claim_lock IS NULL", status)
	if err != nil {
		return false, s.classify(err)
	}
	for _, n := range names {
		if exists(n) {
			return true, nil
		}
	}
	return false, nil
}

// ApplyDefaultAssignee is upstream's _apply_default_assignee: give an
// unassigned ready task kanban.default_assignee, with an assigned event
// naming the rule.
func (s *Store) ApplyDefaultAssignee(ctx context.Context, id, assignee string) error {
	return s.Write(ctx, "default assignee "+id, func() error {
		if _, err := sqlx.Exec(s.conn, "UPDATE tasks SET assignee = ? WHERE id = ? AND (assignee IS NULL OR assignee = '')", assignee, id); err != nil {
			return err
		}
		return s.appendEvent(id, "assigned", py.Obj("assignee", assignee, "source", "kanban.default_assignee"), nil)
	})
}

// RecordRespawnGuarded writes the respawn_guarded event that tells `tail`
// why a task is not being picked up.
func (s *Store) RecordRespawnGuarded(ctx context.Context, id, reason string) error {
	return s.Write(ctx, "respawn guarded "+id, func() error {
		return s.appendEvent(id, "respawn_guarded", py.Obj("reason", reason), nil)
	})
}

// CheckRespawnGuard is upstream's check_respawn_guard: the reason a task
// must not be spawned now ("" when it may). In order: a rate-limited last
// run inside the cooldown; a quota/auth error on record; for the ready
// lane, a completed run within the hour not followed by a re-queue, and a
// GitHub PR URL in a comment within a day.
func (s *Store) CheckRespawnGuard(id, lane string, cooldown int64) (string, error) {
	lastErr, found, err := s.lastFailureError(id)
	if err != nil || !found {
		return "", s.classify(err)
	}
	now := s.now()
	var outcome *string
	var endedAt *int64
	err = sqlx.Query(s.conn, "SELECT outcome, ended_at FROM task_runs WHERE task_id = ? AND ended_at IS NOT NULL ORDER BY ended_at DESC LIMIT 1",
		[]any{id}, func(r *sqlx.Row) error {
			outcome, endedAt = r.NullText("outcome"), r.NullInt("ended_at")
			return nil
		})
	if err != nil {
		return "", s.classify(err)
	}
	if Str(outcome) == "rate_limited" {
		if cooldown > 0 && endedAt != nil && now-*endedAt < cooldown {
			return "rate_limit_cooldown", nil
		}
		return "", nil
	}
	if lastErr != nil && respawnBlockerRe.MatchString(*lastErr) {
		return "blocker_auth", nil
	}
	if lane == "review" {
		return "", nil
	}
	return s.readyLaneGuard(id, now)
}

func (s *Store) lastFailureError(id string) (*string, bool, error) {
	var v *string
	found := false
	err := sqlx.Query(s.conn, "SELECT * FROM tasks WHERE id = ?", []any{id}, func(r *sqlx.Row) error {
		v, found = scanTask(r).LastFailureError, true
		return nil
	})
	return v, found, err
}

// readyLaneGuard holds back recent successes and tasks with a live PR.
func (s *Store) readyLaneGuard(id string, now int64) (string, error) {
	completedAt, found, err := sqlx.QueryInt(s.conn, `SELECT ended_at FROM task_runs WHERE task_id = ? AND outcome = 'completed' AND ended_at >= ?
		ORDER BY ended_at DESC LIMIT 1`, id, now-respawnSuccessWindow)
	if err != nil {
		return "", s.classify(err)
	}
	if found {
		_, requeued, err := sqlx.QueryInt(s.conn, `SELECT 1 FROM task_events WHERE task_id = ? AND created_at >= ?
			AND kind IN ('status', 'promoted', 'unblocked', 'reclaimed') LIMIT 1`, id, completedAt)
		if err != nil {
			return "", s.classify(err)
		}
		if !requeued {
			return "recent_success", nil
		}
	}
	bodies, err := sqlx.QueryStrings(s.conn, "SELECT body FROM task_comments WHERE task_id = ? AND created_at >= ?", id, now-respawnPRWindow)
	if err != nil {
		return "", s.classify(err)
	}
	for _, b := range bodies {
		if respawnPRURLRe.MatchString(b) {
			return "active_pr", nil
		}
	}
	return "", nil
}

// CheckpointPassive runs PRAGMA wal_checkpoint(PASSIVE): copies what it
// can from the WAL without waiting on readers or writers.
func (s *Store) CheckpointPassive() error {
	if s.mode != "wal" {
		return nil
	}
	return s.conn.Exec("PRAGMA wal_checkpoint(PASSIVE)")
}
