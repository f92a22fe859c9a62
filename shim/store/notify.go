package store

import (
	"context"
	"sort"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// DeliveryModes are the notifier reactions upstream knows.
var DeliveryModes = []string{"notify", "notify+wake", "wake"}

// NotifySub names one subscription and the fields to set on it.
type NotifySub struct {
	TaskID, Platform, ChatID, ThreadID string
	UserID, UserIDAlt, ChatType        string
	NotifierProfile, DeliveryMode      string
	DeliveryMetadata                   map[string]string
}

// AddNotifySub registers a gateway source for a task's notifications,
// idempotently, the way upstream's add_notify_sub does: new rows start
// caught up (last_event_id = the task's newest event), chat_type and
// delivery_mode are last-write-wins, user ids and the notifier profile only
// fill empty values, delivery metadata merges.
func (s *Store) AddNotifySub(ctx context.Context, n NotifySub) error {
	valid := ""
	for _, m := range DeliveryModes {
		if n.DeliveryMode == m {
			valid = m
		}
	}
	insertMode := valid
	if insertMode == "" {
		insertMode = "notify"
		if n.Platform == "api_server" {
			insertMode = "notify+wake"
		}
	}
	key := []any{n.TaskID, n.Platform, n.ChatID, n.ThreadID}
	where := " WHERE task_id = ? AND platform = ? AND chat_id = ? AND thread_id = ?"
	return s.Write(ctx, "notify-subscribe "+n.TaskID, func() error {
		merged := py.Object{}
		err := sqlx.Query(s.conn, "SELECT delivery_metadata FROM kanban_notify_subs"+where, key, func(r *sqlx.Row) error {
			for _, m := range jsonDict(r.NullText("delivery_metadata")) {
				merged = merged.Set(m.Key, m.Value)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for k, v := range n.DeliveryMetadata {
			merged = merged.Set(k, v)
		}
		var metaJSON any
		if len(merged) > 0 {
			sort.Slice(merged, func(i, j int) bool { return merged[i].Key < merged[j].Key })
			metaJSON = compactNoSpace(merged)
		}
		chatType := n.ChatType
		if chatType == "" {
			chatType = "dm"
		}
		_, err = sqlx.Exec(s.conn, `INSERT OR IGNORE INTO kanban_notify_subs
			(task_id, platform, chat_id, thread_id, user_id, user_id_alt, chat_type, notifier_profile, delivery_mode, delivery_metadata, created_at, last_event_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE((SELECT MAX(id) FROM task_events WHERE task_id = ?), 0))`,
			n.TaskID, n.Platform, n.ChatID, n.ThreadID, nilIfEmpty(n.UserID), nilIfEmpty(n.UserIDAlt), chatType,
			nilIfEmpty(n.NotifierProfile), insertMode, metaJSON, s.now(), n.TaskID)
		if err != nil {
			return err
		}
		updates := []struct {
			col      string
			val      any
			fillOnly bool
		}{
			{"chat_type", n.ChatType, false}, {"user_id", n.UserID, true}, {"user_id_alt", n.UserIDAlt, true},
			{"notifier_profile", n.NotifierProfile, true}, {"delivery_mode", valid, false}, {"delivery_metadata", metaJSON, false},
		}
		for _, u := range updates {
			if u.val == nil || u.val == "" {
				continue
			}
			guard := ""
			if u.fillOnly {
				guard = " AND (" + u.col + " IS NULL OR " + u.col + " = '')"
			}
			if _, err := sqlx.Exec(s.conn, "UPDATE kanban_notify_subs SET "+u.col+" = ?"+where+guard, append([]any{u.val}, key...)...); err != nil {
				return err
			}
		}
		return nil
	})
}

// compactNoSpace is json.dumps(..., separators=(",", ":")).
func compactNoSpace(o py.Object) string {
	out := "{"
	for i, m := range o {
		if i > 0 {
			out += ","
		}
		out += py.Compact(m.Key) + ":" + py.Compact(m.Value)
	}
	return out + "}"
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ListNotifySubs returns subscriptions (all, or one task's) as ordered
// objects with every column, delivery_metadata decoded.
func (s *Store) ListNotifySubs(taskID string) ([]py.Object, error) {
	q, args := "SELECT * FROM kanban_notify_subs", []any{}
	if taskID != "" {
		q += " WHERE (task_id = ?)"
		args = append(args, taskID)
	}
	var out []py.Object
	err := sqlx.Query(s.conn, q, args, func(r *sqlx.Row) error {
		o := py.Object{}
		for _, c := range r.Columns() {
			v := r.Value(c)
			if c == "delivery_metadata" {
				txt, _ := v.(string)
				v = scalarDict(jsonDict(&txt))
			}
			o = o.Set(c, v)
		}
		out = append(out, o)
		return nil
	})
	return out, s.classify(err)
}

func scalarDict(o py.Object) py.Object {
	out := py.Object{}
	for _, m := range o {
		switch m.Value.(type) {
		case string, int64, float64, bool:
			out = append(out, m)
		}
	}
	return out
}

// RemoveNotifySub deletes one subscription; false when there was none.
func (s *Store) RemoveNotifySub(ctx context.Context, taskID, platform, chatID, threadID string) (bool, error) {
	var n int64
	err := s.Write(ctx, "notify-unsubscribe "+taskID, func() error {
		var err error
		n, err = sqlx.Exec(s.conn, "DELETE FROM kanban_notify_subs WHERE task_id = ? AND platform = ? AND chat_id = ? AND thread_id = ?", taskID, platform, chatID, threadID)
		return err
	})
	return n > 0, err
}

// inheritNotifySubs copies the parents' subscriptions to a child with the
// cursor caught up to the child's newest event, so a late link never
// replays history. Every routing column is copied.
func (s *Store) inheritNotifySubs(child string, parents []string, createdAt *int64) error {
	var uniq []string
	seen := map[string]bool{}
	for _, p := range parents {
		if p != "" && !seen[p] {
			seen[p] = true
			uniq = append(uniq, p)
		}
	}
	if len(uniq) == 0 {
		return nil
	}
	cursor, _, err := sqlx.QueryInt(s.conn, "SELECT COALESCE(MAX(id), 0) FROM task_events WHERE task_id = ?", child)
	if err != nil {
		return err
	}
	at := s.now()
	if createdAt != nil {
		at = *createdAt
	}
	args := append([]any{child, at, cursor}, anySlice(uniq)...)
	_, err = sqlx.Exec(s.conn, `INSERT OR IGNORE INTO kanban_notify_subs
		(task_id, platform, chat_id, thread_id, user_id, user_id_alt, chat_type, notifier_profile, delivery_mode, delivery_metadata, created_at, last_event_id)
		SELECT ?, platform, chat_id, thread_id, user_id, user_id_alt, COALESCE(chat_type, 'dm'), notifier_profile,
		       COALESCE(delivery_mode, 'notify'), delivery_metadata, ?, ?
		  FROM kanban_notify_subs WHERE task_id IN (`+placeholders(len(uniq))+`)`, args...)
	return err
}
