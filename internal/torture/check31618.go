package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ncruces/go-sqlite3"

	osproc "github.com/kanbanshim/kanbanshim/internal/proc"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// report is what the final check found.
type report struct {
	problems               []string
	integrity              string
	statuses, events       string
	tasks, runs, eventRows int64
	lost                   int
}

func openBoard(home string) (*store.Store, error) {
	return store.Open(context.Background(), filepath.Join(home, "kanban.db"), store.Options{Board: "default"})
}

// check verifies the board after the storm: integrity_check, no lost
// rows (every created task is there with its created event), and the
// run bookkeeping (a running task has exactly one open run, its current
// one; any other task has none).
func check(home string, created []string) (report, error) {
	var rep report
	st, err := openBoard(home)
	if err != nil {
		return rep, fmt.Errorf("open board for the final check: %w", err)
	}
	defer st.Close()
	c := st.Conn()
	lines, err := sqlx.QueryStrings(c, "PRAGMA integrity_check")
	if err != nil {
		return rep, err
	}
	rep.integrity = strings.Join(lines, "; ")
	if rep.integrity != "ok" {
		rep.problems = append(rep.problems, "integrity_check: "+rep.integrity)
	}
	for _, q := range []struct {
		sql string
		dst *int64
	}{{"SELECT COUNT(*) FROM tasks", &rep.tasks}, {"SELECT COUNT(*) FROM task_runs", &rep.runs}, {"SELECT COUNT(*) FROM task_events", &rep.eventRows}} {
		if *q.dst, _, err = sqlx.QueryInt(c, q.sql); err != nil {
			return rep, err
		}
	}
	if err := lostRows(c, created, &rep); err != nil {
		return rep, err
	}
	if err := bookkeeping(c, &rep); err != nil {
		return rep, err
	}
	rep.statuses, err = groupCounts(c, "SELECT status AS k, COUNT(*) AS n FROM tasks GROUP BY status")
	if err != nil {
		return rep, err
	}
	rep.events, err = groupCounts(c, `SELECT kind AS k, COUNT(*) AS n FROM task_events WHERE kind IN ('spawned', 'completed', 'reclaimed',
		'timed_out', 'crashed', 'protocol_violation', 'rate_limited', 'gave_up', 'reclaim_deferred', 'worker_exited', 'claim_extended',
		'blocked', 'archived', 'spawn_failed', 'respawn_guarded') GROUP BY kind`)
	return rep, err
}

func lostRows(c sqlConn, created []string, rep *report) error {
	have := map[string]bool{}
	ids, err := sqlx.QueryStrings(c, "SELECT task_id FROM task_events WHERE kind = 'created'")
	if err != nil {
		return err
	}
	withEvent := map[string]bool{}
	for _, id := range ids {
		withEvent[id] = true
	}
	all, err := sqlx.QueryStrings(c, "SELECT id FROM tasks")
	if err != nil {
		return err
	}
	for _, id := range all {
		have[id] = true
	}
	var missing, noEvent []string
	for _, id := range created {
		if !have[id] {
			missing = append(missing, id)
		}
		if !withEvent[id] {
			noEvent = append(noEvent, id)
		}
	}
	rep.lost = len(missing)
	if len(missing) > 0 {
		rep.problems = append(rep.problems, fmt.Sprintf("lost tasks: %s", strings.Join(missing, ", ")))
	}
	if len(noEvent) > 0 {
		rep.problems = append(rep.problems, fmt.Sprintf("tasks without their created event: %s", strings.Join(noEvent, ", ")))
	}
	orphans, err := sqlx.QueryStrings(c, `SELECT 'run ' || id FROM task_runs WHERE task_id NOT IN (SELECT id FROM tasks)
		UNION ALL SELECT 'event ' || id FROM task_events WHERE task_id NOT IN (SELECT id FROM tasks)`)
	if err != nil {
		return err
	}
	if len(orphans) > 0 {
		rep.problems = append(rep.problems, fmt.Sprintf("rows of missing tasks: %s", strings.Join(orphans, ", ")))
	}
	return nil
}

// bookkeeping checks the run invariants.
func bookkeeping(c sqlConn, rep *report) error {
	for _, q := range []struct{ what, sql string }{
		{"running tasks without an open current run", `SELECT t.id FROM tasks t LEFT JOIN task_runs r ON r.id = t.current_run_id
			WHERE t.status = 'running' AND (r.id IS NULL OR r.ended_at IS NOT NULL OR r.task_id != t.id)`},
		{"tasks with a current run that are not running", "SELECT id FROM tasks WHERE status != 'running' AND current_run_id IS NOT NULL"},
		{"tasks with more than one open run", "SELECT task_id FROM task_runs WHERE ended_at IS NULL GROUP BY task_id HAVING COUNT(*) > 1"},
		{"open runs that are not their task's current run", `SELECT r.task_id || '#' || r.id FROM task_runs r JOIN tasks t ON t.id = r.task_id
			WHERE r.ended_at IS NULL AND (t.current_run_id IS NULL OR t.current_run_id != r.id)`},
		{"running tasks without a claim", "SELECT id FROM tasks WHERE status = 'running' AND (claim_lock IS NULL OR claim_expires IS NULL)"},
	} {
		bad, err := sqlx.QueryStrings(c, q.sql)
		if err != nil {
			return err
		}
		if len(bad) > 0 {
			rep.problems = append(rep.problems, fmt.Sprintf("%s: %s", q.what, strings.Join(bad, ", ")))
		}
	}
	return nil
}

// stuckTasks lists running tasks whose worker pid is missing or dead;
// when live is false, every running task counts.
func stuckTasks(home string, live bool) ([]string, error) {
	st, err := openBoard(home)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var stuck []string
	err = sqlx.Query(st.Conn(), "SELECT id, worker_pid FROM tasks WHERE status = 'running'", nil, func(r *sqlx.Row) error {
		pid := r.NullInt("worker_pid")
		if !live || pid == nil || !osproc.Alive(int(*pid)) {
			stuck = append(stuck, fmt.Sprintf("%s (pid %v)", r.Text("id"), pidText(pid)))
		}
		return nil
	})
	return stuck, err
}

func pidText(p *int64) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprint(*p)
}

func groupCounts(c sqlConn, q string) (string, error) {
	var parts []string
	err := sqlx.Query(c, q+" ORDER BY 1", nil, func(r *sqlx.Row) error {
		parts = append(parts, fmt.Sprintf("%s=%d", r.Text("k"), r.Int("n")))
		return nil
	})
	return strings.Join(parts, " "), err
}

type sqlConn = *sqlite3.Conn
