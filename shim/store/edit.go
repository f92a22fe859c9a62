package store

import (
	"context"
	"strings"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// Edit names the fields `edit` changes; nil leaves a field alone.
type Edit struct {
	Title, Body     *string
	Priority        *int64
	Result, Summary *string
	Metadata        py.Object
}

// EditTask edits title/body/priority (any non-archived task) and backfills
// the result of a done task on its completed run (upstream's
// edit_completed_task_result). False for an unknown id or a result on a
// task that is not done.
func (s *Store) EditTask(ctx context.Context, id string, e Edit) (bool, error) {
	if e.Title != nil && strings.TrimSpace(*e.Title) == "" {
		return false, invalid("title cannot be blank")
	}
	ok := false
	err := s.Write(ctx, "edit "+id, func() error {
		st, err := s.taskStatus(id)
		if err != nil || st == "" {
			return err
		}
		if e.Result != nil && st != "done" {
			return nil
		}
		var fields []any
		set := func(col string, v any) error {
			fields = append(fields, col)
			_, err := sqlx.Exec(s.conn, "UPDATE tasks SET "+col+" = ? WHERE id = ?", v, id)
			return err
		}
		if e.Title != nil {
			if err := set("title", strings.TrimSpace(*e.Title)); err != nil {
				return err
			}
		}
		if e.Body != nil {
			if err := set("body", *e.Body); err != nil {
				return err
			}
		}
		if e.Priority != nil {
			if err := set("priority", *e.Priority); err != nil {
				return err
			}
		}
		if len(fields) > 0 {
			if err := s.appendEvent(id, "edited", py.Obj("fields", fields), nil); err != nil {
				return err
			}
		}
		ok = true
		if e.Result != nil {
			return s.backfillResult(id, *e.Result, e.Summary, e.Metadata)
		}
		return nil
	})
	return ok, err
}

func (s *Store) backfillResult(id, result string, summary *string, meta py.Object) error {
	handoff := summary
	if handoff == nil {
		handoff = &result
	}
	if _, err := sqlx.Exec(s.conn, "UPDATE tasks SET result = ? WHERE id = ?", result, id); err != nil {
		return err
	}
	runID, found, err := sqlx.QueryInt(s.conn, `SELECT id FROM task_runs WHERE task_id = ? AND outcome = 'completed'
		ORDER BY COALESCE(ended_at, started_at, 0) DESC, id DESC LIMIT 1`, id)
	if err != nil {
		return err
	}
	var metaArg any
	if meta != nil {
		metaArg = meta
	}
	var run *int64
	if !found {
		if run, err = s.synthesizeEndedRun(id, "completed", handoff, nil, metaArg); err != nil {
			return err
		}
	} else {
		run = &runID
		if _, err := sqlx.Exec(s.conn, "UPDATE task_runs SET summary = ? WHERE id = ?", handoff, runID); err != nil {
			return err
		}
		if meta != nil {
			if _, err := sqlx.Exec(s.conn, "UPDATE task_runs SET metadata = ? WHERE id = ?", py.Compact(meta), runID); err != nil {
				return err
			}
		}
	}
	fields := []any{"result", "summary"}
	if meta != nil {
		fields = append(fields, "metadata")
	}
	return s.appendEvent(id, "edited", py.Obj("fields", fields, "result_len", int64(len([]rune(result))), "summary", firstLineOrNil(handoff, 400)), run)
}
