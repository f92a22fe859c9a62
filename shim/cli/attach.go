package cli

import (
	"context"
	"errors"
	"io/fs"
	"mime"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

var (
	attachVerb = &verbInfo{name: "attach", usage: "attach <task_id> <path> [--content-type T] [--name N] [--author A]",
		summary: "attach a local file to a task", required: []string{"task_id", "path"}, maxArgs: 2, mutating: true,
		new: func() command { return &attachCmd{} }, example: "  kanban attach t_9fc1a3 ./spec.pdf --name requirements.pdf"}
	attachmentsVerb = &verbInfo{name: "attachments", usage: "attachments <task_id> [--json]", summary: "list a task's attachments",
		required: []string{"task_id"}, maxArgs: 1, new: func() command { return &attachmentsCmd{} },
		example: "  kanban attachments t_9fc1a3 --json"}
	attachRmVerb = &verbInfo{name: "attach-rm", usage: "attach-rm <attachment_id>", summary: "delete an attachment by id",
		required: []string{"attachment_id"}, maxArgs: 1, mutating: true, new: func() command { return &attachRmCmd{} },
		example: "  kanban attach-rm 3"}
)

type attachCmd struct{ contentType, name, author optString }

func (c *attachCmd) flags(fs *pflag.FlagSet) {
	fs.Var(&c.contentType, "content-type", "MIME type (default: guessed from the file name)")
	fs.Var(&c.name, "name", "stored file name (default: the source file's name)")
	fs.Var(&c.author, "author", "uploaded_by label (default: the current profile)")
}

func (c *attachCmd) run(ctx context.Context, a *App, args []string) error {
	id := args[0]
	if _, err := a.workerRunID(id); err != nil {
		return err
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	src := pyPath(a.Env.ExpandUser(args[1]))
	data, err := readAttachment(src)
	if err != nil {
		return err
	}
	name := strOr(c.name.v, filepath.Base(src))
	ctype := c.contentType.v
	if ctype == nil || *ctype == "" {
		ctype = guessType(name)
	}
	by := strOr(c.author.v, a.Env.Author())
	attID, err := st.StoreAttachment(ctx, id, name, data, ctype, &by)
	if err != nil {
		return err
	}
	a.out("Attached %s to %s (attachment %d, %d bytes)", name, id, attID, len(data))
	return nil
}

// readAttachment reads a regular file, refusing anything over the cap
// before reading it.
func readAttachment(src string) ([]byte, error) {
	st, err := os.Stat(src)
	if err != nil || !st.Mode().IsRegular() {
		return nil, failf("kanban: no such file: %s", src)
	}
	if st.Size() > store.MaxAttachmentBytes {
		return nil, &store.AttachmentTooLargeError{Limit: store.MaxAttachmentBytes}
	}
	data, err := os.ReadFile(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, failf("kanban: no such file: %s", src)
	}
	return data, err
}

// guessType is Python's mimetypes.guess_type(name)[0]: the media type
// without parameters, nil when unknown.
func guessType(name string) *string {
	t := mime.TypeByExtension(filepath.Ext(name))
	if t == "" {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(t); err == nil {
		t = mt
	}
	return &t
}

// pyPath renders a path as str(pathlib.Path(p)): repeated and trailing
// slashes and "." components dropped, ".." kept.
func pyPath(p string) string {
	if p == "" {
		return "."
	}
	abs := strings.HasPrefix(p, "/")
	var parts []string
	for _, s := range strings.Split(p, "/") {
		if s != "" && s != "." {
			parts = append(parts, s)
		}
	}
	out := strings.Join(parts, "/")
	if abs {
		return "/" + out
	}
	if out == "" {
		return "."
	}
	return out
}

type attachmentsCmd struct{ json bool }

func (c *attachmentsCmd) flags(fs *pflag.FlagSet) { fs.BoolVar(&c.json, "json", false, "JSON output") }

func (c *attachmentsCmd) run(ctx context.Context, a *App, args []string) error {
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	id := args[0]
	if t, err := st.GetTask(id); err != nil || t == nil {
		if err != nil {
			return err
		}
		return failf("no such task: %s", id)
	}
	atts, err := st.ListAttachments(id)
	if err != nil {
		return err
	}
	if c.json {
		out := []any{}
		for _, at := range atts {
			out = append(out, py.Obj("id", at.ID, "filename", at.Filename, "content_type", at.ContentType, "size", at.Size,
				"uploaded_by", at.UploadedBy, "stored_path", at.StoredPath, "created_at", at.CreatedAt))
		}
		a.printJSON(out, true)
		return nil
	}
	if len(atts) == 0 {
		a.out("No attachments on %s", id)
		return nil
	}
	a.out("Attachments on %s:", id)
	for _, at := range atts {
		a.out("  [%d] %s  (%d bytes, %s, by %s)", at.ID, at.Filename, at.Size, strOr(at.ContentType, "-"), strOr(at.UploadedBy, "-"))
		a.out("        %s", at.StoredPath)
	}
	return nil
}

type attachRmCmd struct{}

func (c *attachRmCmd) flags(*pflag.FlagSet) {}

func (c *attachRmCmd) run(ctx context.Context, a *App, args []string) error {
	var id optInt
	if err := id.Set(args[0]); err != nil {
		return usagef("kanban attach-rm: error: argument attachment_id: %v", err)
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	att, err := st.DeleteAttachment(ctx, *id.v)
	if err != nil {
		return err
	}
	if att == nil {
		return failf("no such attachment: %d", *id.v)
	}
	a.out("Deleted attachment %d (%s) from %s", *id.v, att.Filename, att.TaskID)
	return nil
}
