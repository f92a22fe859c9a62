package store

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// MaxAttachmentBytes is upstream's 25 MB attachment cap.
const MaxAttachmentBytes = 25 * 1024 * 1024

// Attachment is one task_attachments row.
type Attachment struct {
	ID          int64
	TaskID      string
	Filename    string
	StoredPath  string
	ContentType *string
	Size        int64
	UploadedBy  *string
	CreatedAt   any
}

func itoa(i int) string { return strconv.Itoa(i) }

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// SafeAttachmentName is upstream's basename sanitiser: no directories, no
// control characters, no leading dots, at most 200 characters.
func SafeAttachmentName(raw string) (string, error) {
	name := strings.ReplaceAll(raw, "\\", "/")
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSpace(name)
	name = strings.Map(func(r rune) rune {
		if r == 0 || !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(name), "."))
	if name == "" {
		return "", invalid("invalid attachment filename")
	}
	if r := []rune(name); len(r) > 200 {
		name = string(r[:200])
	}
	return name, nil
}

// collisionFree returns foo.pdf, foo (1).pdf, … whichever is free.
func collisionFree(dir, name string) string {
	stem, ext, dot := name, "", ""
	if i := strings.Index(name, "."); i >= 0 {
		stem, dot, ext = name[:i], ".", name[i+1:]
	}
	cand := name
	for n := 1; fileExists(filepath.Join(dir, cand)); n++ {
		cand = stem + " (" + itoa(n) + ")" + dot + ext
	}
	return filepath.Join(dir, cand)
}

// AttachmentTooLargeError is the 25 MB cap.
type AttachmentTooLargeError struct{ Limit int64 }

func (e *AttachmentTooLargeError) Error() string {
	return "attachment exceeds " + strconv.FormatInt(e.Limit/(1024*1024), 10) + " MB limit"
}

// StoreAttachment writes data under the task's attachment directory and
// records it; a blob whose row cannot be recorded is removed again.
func (s *Store) StoreAttachment(ctx context.Context, taskID, filename string, data []byte, contentType, uploadedBy *string) (int64, error) {
	if int64(len(data)) > MaxAttachmentBytes {
		return 0, &AttachmentTooLargeError{Limit: MaxAttachmentBytes}
	}
	name, err := SafeAttachmentName(filename)
	if err != nil {
		return 0, err
	}
	if err := s.requireTask(taskID); err != nil {
		return 0, err
	}
	dir := filepath.Join(s.opts.Paths.AttachmentsRoot, taskID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	dest := collisionFree(dir, name)
	if err := os.WriteFile(dest, data, 0o644); err != nil {
		return 0, err
	}
	abs, _ := filepath.Abs(dest)
	var id int64
	err = s.Write(ctx, "attach "+taskID, func() error {
		if err := s.requireTask(taskID); err != nil {
			return err
		}
		var err error
		id, err = sqlx.Insert(s.conn, `INSERT INTO task_attachments (task_id, filename, stored_path, content_type, size, uploaded_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, taskID, filepath.Base(dest), abs, contentType, int64(len(data)), uploadedBy, s.now())
		if err != nil {
			return err
		}
		return s.appendEvent(taskID, "attached", py.Obj("filename", filepath.Base(dest), "size", int64(len(data)), "by", uploadedBy), nil)
	})
	if err != nil {
		os.Remove(dest)
	}
	return id, err
}

func scanAttachment(r *sqlx.Row) Attachment {
	return Attachment{ID: r.Int("id"), TaskID: r.Text("task_id"), Filename: r.Text("filename"), StoredPath: r.Text("stored_path"),
		ContentType: r.NullText("content_type"), Size: r.Int("size"), UploadedBy: r.NullText("uploaded_by"), CreatedAt: r.Value("created_at")}
}

// ListAttachments returns a task's attachments oldest first.
func (s *Store) ListAttachments(taskID string) ([]Attachment, error) {
	var out []Attachment
	err := sqlx.Query(s.conn, "SELECT * FROM task_attachments WHERE task_id = ? ORDER BY created_at ASC, id ASC", []any{taskID}, func(r *sqlx.Row) error {
		out = append(out, scanAttachment(r))
		return nil
	})
	return out, s.classify(err)
}

// DeleteAttachment removes the row (and, best effort, the blob); nil when
// there was no such attachment.
func (s *Store) DeleteAttachment(ctx context.Context, id int64) (*Attachment, error) {
	var att *Attachment
	err := s.Write(ctx, "attach-rm "+strconv.FormatInt(id, 10), func() error {
		err := sqlx.Query(s.conn, "SELECT * FROM task_attachments WHERE id = ?", []any{id}, func(r *sqlx.Row) error {
			a := scanAttachment(r)
			att = &a
			return nil
		})
		if err != nil || att == nil {
			return err
		}
		if _, err := sqlx.Exec(s.conn, "DELETE FROM task_attachments WHERE id = ?", id); err != nil {
			return err
		}
		return s.appendEvent(att.TaskID, "attachment_removed", py.Obj("filename", att.Filename), nil)
	})
	if err == nil && att != nil {
		if st, e := os.Stat(att.StoredPath); e == nil && st.Mode().IsRegular() {
			os.Remove(att.StoredPath)
		}
	}
	return att, err
}
