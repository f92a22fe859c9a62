package home

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/kanbanshim/kanbanshim/internal/py"
)

// DefaultBoard is the board that always exists; its database stays at
// <root>/kanban.db for compatibility with pre-boards installs.
const DefaultBoard = "default"

// slugRe is compiled on first use: most commands never validate a slug,
// and every millisecond of start-up is paid per CLI call.
var slugRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9\-_]{0,63}$`) })

// ErrBadSlug is wrapped by SlugError.
var ErrBadSlug = errors.New("invalid board slug")

// SlugError reports a slug that fails upstream's rules; its message is
// upstream's, word for word.
type SlugError struct{ Slug string }

func (e *SlugError) Error() string {
	return fmt.Sprintf("invalid board slug %s: must be 1-64 chars, lowercase alphanumerics / hyphens / underscores, not starting with '-' or '_'", py.Repr(e.Slug))
}

func (e *SlugError) Unwrap() error { return ErrBadSlug }

// NormalizeSlug lowercases and trims s and validates it. An empty result
// returns "" and no error, like upstream's _normalize_board_slug.
func NormalizeSlug(s string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	if n == "" {
		return "", nil
	}
	if !slugRe().MatchString(n) {
		return "", &SlugError{Slug: s}
	}
	return n, nil
}

// Boards resolves board paths under one kanban root.
type Boards struct {
	Env  Env
	Root string
	// Override pins the active board for this process (the --board flag).
	Override string
}

// NewBoards returns the board resolver for env.
func NewBoards(env Env) *Boards { return &Boards{Env: env, Root: env.KanbanRoot()} }

// BoardsRoot is <root>/kanban/boards.
func (b *Boards) BoardsRoot() string { return filepath.Join(b.Root, "kanban", "boards") }

// CurrentFile is <root>/kanban/current.
func (b *Boards) CurrentFile() string { return filepath.Join(b.Root, "kanban", "current") }

// Dir is <root>/kanban/boards/<slug> (metadata only for default).
func (b *Boards) Dir(slug string) string { return filepath.Join(b.BoardsRoot(), orDefault(slug)) }

func orDefault(slug string) string {
	if n, err := NormalizeSlug(slug); err == nil && n != "" {
		return n
	}
	return DefaultBoard
}

// Exists reports whether a board exists: default always does; others need
// board.json or kanban.db in their directory.
func (b *Boards) Exists(slug string) bool {
	s := orDefault(slug)
	return s == DefaultBoard || holdsBoard(b.Dir(s))
}

func holdsBoard(dir string) bool {
	return fileExists(filepath.Join(dir, "board.json")) || fileExists(filepath.Join(dir, "kanban.db"))
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// Current is the active board: the --board override, HERMES_KANBAN_BOARD,
// the current file, each only while that board exists, else default.
func (b *Boards) Current() string {
	for _, c := range []string{b.Override, b.Env.get("HERMES_KANBAN_BOARD")} {
		if s := b.existing(c); s != "" {
			return s
		}
	}
	if data, err := os.ReadFile(b.CurrentFile()); err == nil {
		v := strings.TrimSpace(strings.TrimPrefix(string(data), "\ufeff"))
		if s := b.existing(v); s != "" {
			return s
		}
	}
	return DefaultBoard
}

func (b *Boards) existing(c string) string {
	c = strings.TrimSpace(c)
	if c == "" {
		return ""
	}
	n, err := NormalizeSlug(c)
	if err != nil || n == "" || !b.Exists(n) {
		return ""
	}
	return n
}

// slugOrCurrent resolves an explicit slug ("" = the active board).
func (b *Boards) slugOrCurrent(slug string) string {
	if n, err := NormalizeSlug(slug); err == nil && n != "" {
		return n
	}
	return b.Current()
}

// path implements upstream's _board_path: env override, else the legacy
// location for default, else <board dir>/<leaf>.
func (b *Boards) path(envVar, slug string, legacy []string, leaf string) string {
	if envVar != "" {
		if o := b.Env.get(envVar); o != "" {
			return b.Env.ExpandUser(o)
		}
	}
	s := b.slugOrCurrent(slug)
	if s == DefaultBoard {
		return filepath.Join(append([]string{b.Root}, legacy...)...)
	}
	return filepath.Join(b.Dir(s), leaf)
}

// DBPath is the board's database. HERMES_KANBAN_DB wins over everything,
// the --board flag included, as upstream does (workers are pinned by it).
func (b *Boards) DBPath(slug string) string {
	return b.path("HERMES_KANBAN_DB", slug, []string{"kanban.db"}, "kanban.db")
}

// BoardDBPath is the board's own database location, ignoring
// HERMES_KANBAN_DB (for listings of every board).
func (b *Boards) BoardDBPath(slug string) string {
	return b.path("", slug, []string{"kanban.db"}, "kanban.db")
}

// WorkspacesRoot is where scratch workspaces of the board go.
func (b *Boards) WorkspacesRoot(slug string) string {
	return b.path("HERMES_KANBAN_WORKSPACES_ROOT", slug, []string{"kanban", "workspaces"}, "workspaces")
}

// AttachmentsRoot is where attachment blobs of the board go.
func (b *Boards) AttachmentsRoot(slug string) string {
	return b.path("HERMES_KANBAN_ATTACHMENTS_ROOT", slug, []string{"kanban", "attachments"}, "attachments")
}

// LogsDir is where worker logs of the board go.
func (b *Boards) LogsDir(slug string) string {
	return b.path("", slug, []string{"kanban", "logs"}, "logs")
}

// SetCurrent writes <root>/kanban/current.
func (b *Boards) SetCurrent(slug string) error {
	if err := os.MkdirAll(filepath.Dir(b.CurrentFile()), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(b.CurrentFile(), []byte(slug+"\n"))
}

// ClearCurrent removes the current-board pointer (back to default).
func (b *Boards) ClearCurrent() error {
	err := os.Remove(b.CurrentFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// writeFileAtomic writes data to a temp file next to path, syncs it and
// renames it over path, so a reader never sees a half-written file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
