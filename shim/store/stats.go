package store

import (
	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// Stats is upstream's board_stats.
type Stats struct {
	ByStatus   py.Object // status -> count, in GROUP BY order
	ByAssignee map[string]py.Object
	OldestAge  *int64
	Now        int64
}

// BoardStats counts non-archived tasks by status and by assignee and finds
// the age of the oldest ready task.
func (s *Store) BoardStats() (*Stats, error) {
	st := &Stats{ByStatus: py.Object{}, Now: s.now()}
	err := sqlx.Query(s.conn, "SELECT status, COUNT(*) AS n FROM tasks WHERE status != 'archived' GROUP BY status", nil, func(r *sqlx.Row) error {
		st.ByStatus = st.ByStatus.Set(r.Text("status"), r.Int("n"))
		return nil
	})
	if err != nil {
		return nil, s.classify(err)
	}
	if st.ByAssignee, err = s.CountsByAssignee(); err != nil {
		return nil, err
	}
	oldest, ok, err := sqlx.QueryInt(s.conn, "SELECT MIN(created_at) FROM tasks WHERE status = 'ready'")
	if err != nil {
		return nil, s.classify(err)
	}
	if ok {
		age := st.Now - oldest
		st.OldestAge = &age
	}
	return st, nil
}

// CountsByAssignee is {assignee: {status: n}} over non-archived tasks.
func (s *Store) CountsByAssignee() (map[string]py.Object, error) {
	out := map[string]py.Object{}
	err := sqlx.Query(s.conn, "SELECT assignee, status, COUNT(*) AS n FROM tasks WHERE status != 'archived' AND assignee IS NOT NULL GROUP BY assignee, status", nil, func(r *sqlx.Row) error {
		a := r.Text("assignee")
		out[a] = out[a].Set(r.Text("status"), r.Int("n"))
		return nil
	})
	return out, s.classify(err)
}

// StatusCounts counts tasks by status including archived (boards list).
func (s *Store) StatusCounts() (map[string]int64, int64, error) {
	out := map[string]int64{}
	var total int64
	err := sqlx.Query(s.conn, "SELECT status, COUNT(*) AS n FROM tasks GROUP BY status", nil, func(r *sqlx.Row) error {
		out[r.Text("status")] = r.Int("n")
		total += r.Int("n")
		return nil
	})
	return out, total, s.classify(err)
}
