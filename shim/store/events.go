package store

import (
	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// Event is one task_events row; Payload is the decoded JSON (py.Object in
// key order) or nil.
type Event struct {
	ID        int64
	TaskID    string
	RunID     *int64
	Kind      string
	Payload   any
	CreatedAt any
}

// appendEvent inserts an event inside the caller's transaction. Like
// upstream, an empty payload is stored as NULL and JSON is written by
// Python's json.dumps rules, so both sides read identical text.
func (s *Store) appendEvent(taskID, kind string, payload py.Object, runID *int64) error {
	var p any
	if len(payload) > 0 {
		p = py.Compact(payload)
	}
	_, err := sqlx.Exec(s.conn, "INSERT INTO task_events (task_id, run_id, kind, payload, created_at) VALUES (?, ?, ?, ?, ?)",
		taskID, runID, kind, p, s.now())
	return err
}

// decodeJSON decodes a JSON text column the way upstream's _json_or does:
// empty or undecodable text reads as nil.
func decodeJSON(s *string) any {
	if s == nil || *s == "" {
		return nil
	}
	v, err := py.Loads(*s)
	if err != nil {
		return nil
	}
	return v
}

// jsonDict decodes a JSON object column; anything else is an empty object.
func jsonDict(s *string) py.Object {
	if o, ok := decodeJSON(s).(py.Object); ok {
		return o
	}
	return py.Object{}
}

func scanEvent(r *sqlx.Row) Event {
	return Event{
		ID:        r.Int("id"),
		TaskID:    r.Text("task_id"),
		RunID:     r.NullInt("run_id"),
		Kind:      r.Text("kind"),
		Payload:   decodeJSON(r.NullText("payload")),
		CreatedAt: r.Value("created_at"),
	}
}

// ListEvents returns a task's events oldest first.
func (s *Store) ListEvents(taskID string) ([]Event, error) {
	var out []Event
	err := sqlx.Query(s.conn, "SELECT * FROM task_events WHERE task_id = ? ORDER BY created_at ASC, id ASC", []any{taskID}, func(r *sqlx.Row) error {
		out = append(out, scanEvent(r))
		return nil
	})
	return out, s.classify(err)
}

// EventsAfter returns events with id > after (all tasks, or one), oldest
// first, joined with the task's assignee: what tail and watch stream.
func (s *Store) EventsAfter(after int64, taskID string, limit int) ([]EventRow, error) {
	q := "SELECT e.*, t.assignee AS task_assignee, t.tenant AS task_tenant FROM task_events e LEFT JOIN tasks t ON t.id = e.task_id WHERE e.id > ?"
	args := []any{after}
	if taskID != "" {
		q += " AND e.task_id = ?"
		args = append(args, taskID)
	}
	q += " ORDER BY e.id ASC LIMIT ?"
	args = append(args, limit)
	var out []EventRow
	err := sqlx.Query(s.conn, q, args, func(r *sqlx.Row) error {
		out = append(out, EventRow{Event: scanEvent(r), Assignee: r.NullText("task_assignee"), Tenant: r.NullText("task_tenant")})
		return nil
	})
	return out, s.classify(err)
}

// EventRow is an event with its task's assignee and tenant.
type EventRow struct {
	Event
	Assignee *string
	Tenant   *string
}

// MaxEventID is the newest event id on the board (0 when none).
func (s *Store) MaxEventID() (int64, error) {
	v, _, err := sqlx.QueryInt(s.conn, "SELECT COALESCE(MAX(id), 0) FROM task_events")
	return v, s.classify(err)
}
