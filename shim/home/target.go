package home

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/py"
)

// ErrUsage marks a board selection the user must fix (exit 2).
var ErrUsage = errors.New("usage")

// Target is one board a maintenance tool (kanban-recover, kanban-migrate)
// acts on.
type Target struct {
	Slug    string // "" when the database was named by path
	DB      string // the database file
	Dir     string // where the board's quarantine/ and backups/ live
	Missing bool   // --all only: the board has no database file yet (and no sidecar holding data)
}

// Quarantine is where damaged or replaced files of the board are kept.
func (t Target) Quarantine() string { return filepath.Join(t.Dir, board.Quarantine.Dir) }

// Backups is where kanban-migrate keeps its pre-migration backups.
func (t Target) Backups() string { return filepath.Join(t.Dir, board.Backup.Dir) }

// RepairCommand is the shell-quoted command that repairs the board
// (board.RepairCommand), by slug when it was chosen by slug.
func (t Target) RepairCommand(flags ...string) string {
	return board.RepairCommand(t.DB, t.Slug, flags...)
}

// Label is the slug, or the path when the board was named by path.
func (t Target) Label() string {
	if t.Slug != "" {
		return t.Slug
	}
	return t.DB
}

// Describe is "board SLUG (PATH)", or the path alone.
func (t Target) Describe() string {
	if t.Slug != "" {
		return "board " + t.Slug + " (" + t.DB + ")"
	}
	return t.DB
}

// SlugOrNil is the slug for JSON output: null when named by path.
func (t Target) SlugOrNil() *string {
	if t.Slug == "" {
		return nil
	}
	s := t.Slug
	return &s
}

// Selector is the --board / --db / --all choice of the maintenance tools.
type Selector struct {
	Board, DB           string
	All                 bool
	boardGiven, dbGiven bool // given, even if empty: `--board "$UNSET"` must not mean "the active board"
}

// Register adds --board, --db and --all to fs; allUsage describes --all.
func (s *Selector) Register(fs *pflag.FlagSet, allUsage string) {
	fs.Var(&given{p: &s.Board, set: &s.boardGiven}, "board", "act on the named board")
	fs.Var(&given{p: &s.DB, set: &s.dbGiven}, "db", "act on this database file")
	fs.BoolVar(&s.All, "all", s.All, allUsage)
}

// Given is a string flag at p that sets *set when it is given, even
// empty: `--flag "$UNSET"` must not read as the flag's absence.
func Given(p *string, set *bool) pflag.Value { return &given{p: p, set: set} }

// given is a string flag that records that it was given.
type given struct {
	p   *string
	set *bool
}

func (g *given) String() string {
	if g.p == nil {
		return ""
	}
	return *g.p
}
func (g *given) Set(v string) error { *g.p, *g.set = v, true; return nil }
func (g *given) Type() string       { return "string" }

// Resolve turns the selection into targets the way kanban resolves
// boards: an explicit --board names that board's own database; with no
// selection the active board is used, and HERMES_KANBAN_DB (a file, not a
// board) wins. --all lists every board, archived ones included.
func (s Selector) Resolve(env Env) ([]Target, error) {
	n := 0
	for _, set := range []bool{s.Board != "", s.DB != "", s.All} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, fmt.Errorf("%w: --board, --db and --all are mutually exclusive", ErrUsage)
	}
	if s.boardGiven && strings.TrimSpace(s.Board) == "" {
		return nil, fmt.Errorf("%w: --board requires a slug", ErrUsage)
	}
	if s.dbGiven && strings.TrimSpace(s.DB) == "" {
		return nil, fmt.Errorf("%w: --db requires a path", ErrUsage)
	}
	if err := env.CheckDirs(); err != nil {
		return nil, err
	}
	b := NewBoards(env)
	switch {
	case s.DB != "":
		abs, err := filepath.Abs(env.ExpandUser(s.DB))
		if err != nil {
			return nil, fmt.Errorf("%w: --db: %v", ErrUsage, err)
		}
		return []Target{{DB: abs, Dir: filepath.Dir(abs)}}, nil
	case s.All:
		return allTargets(b), nil
	case s.Board != "":
		slug, err := NormalizeSlug(s.Board)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUsage, err)
		}
		if slug == "" {
			return nil, fmt.Errorf("%w: --board needs a slug", ErrUsage)
		}
		if !b.Exists(slug) {
			return nil, &NoBoardError{Slug: slug}
		}
		return []Target{{Slug: slug, DB: b.BoardDBPath(slug), Dir: b.Dir(slug)}}, nil
	}
	if db := env.get("HERMES_KANBAN_DB"); db != "" {
		p := b.DBPath("")
		return []Target{{DB: p, Dir: filepath.Dir(p)}}, nil
	}
	slug := b.Current()
	return []Target{{Slug: slug, DB: b.BoardDBPath(slug), Dir: b.Dir(slug)}}, nil
}

func allTargets(b *Boards) []Target {
	var out []Target
	for _, m := range b.List(true) {
		db := b.BoardDBPath(m.Slug)
		_, err := os.Stat(db)
		// A missing database whose -wal or -journal holds data is a
		// damaged board, not one with no database yet.
		missing := errors.Is(err, fs.ErrNotExist) && board.CheckEmpty(db) == nil
		out = append(out, Target{Slug: m.Slug, DB: db, Dir: b.Dir(m.Slug), Missing: missing})
	}
	return out
}

// NoBoardError is a named board that does not exist.
type NoBoardError struct{ Slug string }

func (e *NoBoardError) Error() string { return "board " + py.Repr(e.Slug) + " does not exist" }

// Unwrap matches ErrNoBoard.
func (e *NoBoardError) Unwrap() error { return ErrNoBoard }
