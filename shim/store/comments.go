package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// Comment is one task_comments row.
type Comment struct {
	ID        int64
	TaskID    string
	Author    string
	Body      string
	CreatedAt any
}

// UnknownTaskError is upstream's "unknown task X" ValueError.
type UnknownTaskError struct{ ID string }

func (e *UnknownTaskError) Error() string { return "unknown task " + e.ID }
func (e *UnknownTaskError) Unwrap() error { return ErrNoSuchTask }

// ErrInvalid is wrapped by validation errors raised by task operations
// (upstream's ValueError); the CLI prints them after "kanban: ".
var ErrInvalid = errors.New("invalid")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// InvalidMessage strips the sentinel prefix for display.
func InvalidMessage(err error) string {
	return strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")
}

func (s *Store) requireTask(id string) error {
	_, found, err := sqlx.QueryInt(s.conn, "SELECT 1 FROM tasks WHERE id = ?", id)
	if err != nil {
		return err
	}
	if !found {
		return &UnknownTaskError{ID: id}
	}
	return nil
}

// AddComment appends a comment and a `commented` event; it returns the
// comment id.
func (s *Store) AddComment(ctx context.Context, taskID, author, body string) (int64, error) {
	if strings.TrimSpace(body) == "" {
		return 0, invalid("comment body is required")
	}
	if strings.TrimSpace(author) == "" {
		return 0, invalid("comment author is required")
	}
	var id int64
	err := s.Write(ctx, "comment "+taskID, func() error {
		var err error
		id, err = s.addComment(taskID, author, body)
		return err
	})
	return id, err
}

func (s *Store) addComment(taskID, author, body string) (int64, error) {
	if err := s.requireTask(taskID); err != nil {
		return 0, err
	}
	id, err := sqlx.Insert(s.conn, "INSERT INTO task_comments (task_id, author, body, created_at) VALUES (?, ?, ?, ?)",
		taskID, strings.TrimSpace(author), strings.TrimSpace(body), s.now())
	if err != nil {
		return 0, err
	}
	return id, s.appendEvent(taskID, "commented", py.Obj("author", author, "len", int64(utf8.RuneCountInString(body))), nil)
}

// ListComments returns a task's comments oldest first.
func (s *Store) ListComments(taskID string) ([]Comment, error) {
	var out []Comment
	err := sqlx.Query(s.conn, "SELECT * FROM task_comments WHERE task_id = ? ORDER BY created_at ASC", []any{taskID}, func(r *sqlx.Row) error {
		out = append(out, Comment{ID: r.Int("id"), TaskID: r.Text("task_id"), Author: r.Text("author"), Body: r.Text("body"), CreatedAt: r.Value("created_at")})
		return nil
	})
	return out, s.classify(err)
}
