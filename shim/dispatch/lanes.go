package dispatch

import (
	"context"
	"regexp"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/shim/store"
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

// laneRow is an unclaimed task of a dispatch lane.
type laneRow struct {
	id       string
	assignee *string // nil when unassigned (NULL or "")
}

// laneRows lists a lane's unclaimed tasks in dispatch order (priority
// DESC, created_at ASC), as upstream's _lane_rows.
func laneRows(st *store.Store, status string) ([]laneRow, error) {
	var out []laneRow
	err := sqlx.Query(st.Conn(), "SELECT id, assignee FROM tasks WHERE status = ? AND claim_lock IS NULL ORDER BY priority DESC, created_at ASC",
		[]any{status}, func(r *sqlx.Row) error {
			row := laneRow{id: r.Text("id"), assignee: r.NullText("assignee")}
			if row.assignee != nil && *row.assignee == "" {
				row.assignee = nil
			}
			out = append(out, row)
			return nil
		})
	return out, st.Corrupt(err)
}

// countRunning is upstream's count_running_tasks.
func countRunning(st *store.Store) (int64, error) {
	n, _, err := sqlx.QueryInt(st.Conn(), "SELECT COUNT(*) FROM tasks WHERE status = 'running'")
	return n, st.Corrupt(err)
}

// runningByAssignee counts running tasks per assignee.
func runningByAssignee(st *store.Store) (map[string]int64, error) {
	out := map[string]int64{}
	err := sqlx.Query(st.Conn(), "SELECT assignee, COUNT(*) AS n FROM tasks WHERE status = 'running' AND assignee IS NOT NULL GROUP BY assignee",
		nil, func(r *sqlx.Row) error {
			out[r.Text("assignee")] = r.Int("n")
			return nil
		})
	return out, st.Corrupt(err)
}

// hasSpawnable reports whether a lane holds an assigned, unclaimed task
// whose assignee passes exists (upstream's has_spawnable_ready).
func hasSpawnable(st *store.Store, status string, exists func(string) bool) (bool, error) {
	names, err := sqlx.QueryStrings(st.Conn(), "SELECT DISTINCT assignee FROM tasks WHERE status = ? AND assignee IS NOT NULL AND claim_lock IS NULL", status)
	if err != nil {
		return false, st.Corrupt(err)
	}
	for _, n := range names {
		if exists(n) {
			return true, nil
		}
	}
	return false, nil
}

// applyDefaultAssignee is upstream's _apply_default_assignee: give an
// unassigned ready task kanban.default_assignee, with an assigned event
// naming the rule.
func applyDefaultAssignee(ctx context.Context, st *store.Store, id, assignee string) error {
	return st.WriteTx(ctx, "default assignee "+id, func(tx *store.Tx) error {
		if _, err := sqlx.Exec(tx.Conn(), "UPDATE tasks SET assignee = ? WHERE id = ? AND (assignee IS NULL OR assignee = '')", assignee, id); err != nil {
			return err
		}
		return tx.AppendEvent(id, "assigned", py.Obj("assignee", assignee, "source", "kanban.default_assignee"), nil)
	})
}

// recordRespawnGuarded writes the respawn_guarded event that tells `tail`
// why a task is not being picked up.
func recordRespawnGuarded(ctx context.Context, st *store.Store, id, reason string) error {
	return st.WriteTx(ctx, "respawn guarded "+id, func(tx *store.Tx) error {
		return tx.AppendEvent(id, "respawn_guarded", py.Obj("reason", reason), nil)
	})
}

// checkRespawnGuard is upstream's check_respawn_guard: the reason a task
// must not be spawned now ("" when it may). In order: a rate-limited last
// run inside the cooldown; a quota/auth error on record; for the ready
// lane, a completed run within the hour not followed by a re-queue, and a
// GitHub PR URL in a comment within a day.
func checkRespawnGuard(st *store.Store, id, lane string, cooldown int64) (string, error) {
	t, err := st.GetTask(id)
	if err != nil || t == nil {
		return "", err
	}
	lastErr := t.LastFailureError
	now := st.Now()
	var outcome *string
	var endedAt *int64
	err = sqlx.Query(st.Conn(), "SELECT outcome, ended_at FROM task_runs WHERE task_id = ? AND ended_at IS NOT NULL ORDER BY ended_at DESC LIMIT 1",
		[]any{id}, func(r *sqlx.Row) error {
			outcome, endedAt = r.NullText("outcome"), r.NullInt("ended_at")
			return nil
		})
	if err != nil {
		return "", st.Corrupt(err)
	}
	if store.Str(outcome) == "rate_limited" {
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
	return readyLaneGuard(st, id, now)
}

// readyLaneGuard holds back recent successes and tasks with a live PR.
func readyLaneGuard(st *store.Store, id string, now int64) (string, error) {
	completedAt, found, err := sqlx.QueryInt(st.Conn(), `SELECT ended_at FROM task_runs WHERE task_id = ? AND outcome = 'completed' AND ended_at >= ?
		ORDER BY ended_at DESC LIMIT 1`, id, now-respawnSuccessWindow)
	if err != nil {
		return "", st.Corrupt(err)
	}
	if found {
		_, requeued, err := sqlx.QueryInt(st.Conn(), `SELECT 1 FROM task_events WHERE task_id = ? AND created_at >= ?
			AND kind IN ('status', 'promoted', 'unblocked', 'reclaimed') LIMIT 1`, id, completedAt)
		if err != nil {
			return "", st.Corrupt(err)
		}
		if !requeued {
			return "recent_success", nil
		}
	}
	bodies, err := sqlx.QueryStrings(st.Conn(), "SELECT body FROM task_comments WHERE task_id = ? AND created_at >= ?", id, now-respawnPRWindow)
	if err != nil {
		return "", st.Corrupt(err)
	}
	for _, b := range bodies {
		if respawnPRURLRe.MatchString(b) {
			return "active_pr", nil
		}
	}
	return "", nil
}
