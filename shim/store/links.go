package store

import (
	"context"
	"strings"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

func (s *Store) link(parent, child string) error {
	_, err := sqlx.Exec(s.conn, "INSERT OR IGNORE INTO task_links (parent_id, child_id) VALUES (?, ?)", parent, child)
	return err
}

// missingTaskIDs returns the ids (in order) that have no tasks row.
func (s *Store) missingTaskIDs(ids []string) ([]string, error) {
	var missing []string
	for _, id := range ids {
		_, found, err := sqlx.QueryInt(s.conn, "SELECT 1 FROM tasks WHERE id = ?", id)
		if err != nil {
			return nil, err
		}
		if !found {
			missing = append(missing, id)
		}
	}
	return missing, nil
}

// LinkTasks makes parent a dependency of child. It reports whether the
// child was demoted from ready to todo because the parent is not done.
func (s *Store) LinkTasks(ctx context.Context, parent, child string, expectedChildRun *int64) (gated bool, err error) {
	if parent == child {
		return false, invalid("a task cannot depend on itself")
	}
	err = s.Write(ctx, "link "+parent+" "+child, func() error {
		missing, err := s.missingTaskIDs([]string{parent, child})
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			return invalid("unknown task(s): %s", strings.Join(missing, ", "))
		}
		if expectedChildRun != nil {
			cur, err := s.currentRunID(child)
			if err != nil {
				return err
			}
			if cur == nil || *cur != *expectedChildRun {
				return invalid("run %d no longer owns %s", *expectedChildRun, child)
			}
		}
		cycle, err := s.wouldCycle(parent, child)
		if err != nil {
			return err
		}
		if cycle {
			return invalid("linking %s -> %s would create a cycle", parent, child)
		}
		if err := s.link(parent, child); err != nil {
			return err
		}
		st, err := s.taskStatus(parent)
		if err != nil {
			return err
		}
		if st != "done" {
			n, err := sqlx.Exec(s.conn, "UPDATE tasks SET status = 'todo' WHERE id = ? AND status = 'ready'", child)
			if err != nil {
				return err
			}
			gated = n > 0
		}
		if err := s.appendEvent(child, "linked", py.Obj("parent", parent, "child", child), nil); err != nil {
			return err
		}
		return s.inheritNotifySubs(child, []string{parent}, nil)
	})
	return gated, err
}

// wouldCycle reports whether parent is already a descendant of child.
func (s *Store) wouldCycle(parent, child string) (bool, error) {
	seen := map[string]bool{}
	stack := []string{child}
	for len(stack) > 0 {
		node := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if node == parent {
			return true, nil
		}
		if seen[node] {
			continue
		}
		seen[node] = true
		kids, err := sqlx.QueryStrings(s.conn, "SELECT child_id FROM task_links WHERE parent_id = ?", node)
		if err != nil {
			return false, err
		}
		stack = append(stack, kids...)
	}
	return false, nil
}

// UnlinkTasks removes a link; false when there was none. The child is
// re-gated right away.
func (s *Store) UnlinkTasks(ctx context.Context, parent, child string) (bool, error) {
	removed := false
	err := s.Write(ctx, "unlink "+parent+" "+child, func() error {
		n, err := sqlx.Exec(s.conn, "DELETE FROM task_links WHERE parent_id = ? AND child_id = ?", parent, child)
		if err != nil || n == 0 {
			return err
		}
		removed = true
		return s.appendEvent(child, "unlinked", py.Obj("parent", parent, "child", child), nil)
	})
	if err != nil || !removed {
		return removed, err
	}
	_, err = s.RecomputeReady(ctx, 0)
	return true, err
}

// ParentIDs lists a task's parents, sorted.
func (s *Store) ParentIDs(id string) ([]string, error) {
	v, err := sqlx.QueryStrings(s.conn, "SELECT parent_id FROM task_links WHERE child_id = ? ORDER BY parent_id", id)
	return v, s.classify(err)
}

// ChildIDs lists a task's children, sorted.
func (s *Store) ChildIDs(id string) ([]string, error) {
	v, err := sqlx.QueryStrings(s.conn, "SELECT child_id FROM task_links WHERE parent_id = ? ORDER BY child_id", id)
	return v, s.classify(err)
}

// parentsSatisfied reports whether every parent is done or archived.
func (s *Store) parentsSatisfied(id string) (bool, error) {
	_, found, err := sqlx.QueryInt(s.conn, `SELECT 1 FROM task_links l JOIN tasks p ON p.id = l.parent_id
		WHERE l.child_id = ? AND p.status NOT IN ('done', 'archived') LIMIT 1`, id)
	return !found, err
}

// UnsatisfiedParent is an open parent blocking a task.
type UnsatisfiedParent struct{ ID, Status string }

// UnsatisfiedParents lists the parents that are neither done nor archived.
func (s *Store) UnsatisfiedParents(id string) ([]UnsatisfiedParent, error) {
	var out []UnsatisfiedParent
	err := sqlx.Query(s.conn, `SELECT p.id AS id, p.status AS status FROM task_links l JOIN tasks p ON p.id = l.parent_id
		WHERE l.child_id = ? AND p.status NOT IN ('done', 'archived') ORDER BY p.id`, []any{id}, func(r *sqlx.Row) error {
		out = append(out, UnsatisfiedParent{ID: r.Text("id"), Status: r.Text("status")})
		return nil
	})
	return out, s.classify(err)
}

// landingAfterParents is ready when every parent is terminal, else todo.
func (s *Store) landingAfterParents(id string) (string, error) {
	ok, err := s.parentsSatisfied(id)
	if ok {
		return "ready", err
	}
	return "todo", err
}
