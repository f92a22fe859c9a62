package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/shim/home"
)

// selector holds the board-selection flags, accepted before or after the
// verb.
type selector struct {
	board, db string
	all       bool
}

func (s *selector) register(fs *pflag.FlagSet) {
	fs.StringVar(&s.board, "board", s.board, "act on the named board")
	fs.StringVar(&s.db, "db", s.db, "act on this database file")
	fs.BoolVar(&s.all, "all", s.all, "act on every board")
}

// target is one board database to act on.
type target struct {
	Slug      string // "" when selected by --db
	DB        string
	BackupDir string
	Missing   bool // --all only: the board has no database file yet
}

func (t target) label() string {
	if t.Slug != "" {
		return t.Slug
	}
	return t.DB
}

// describe names the board for text output: "board SLUG (PATH)", or the
// path alone when it was selected by --db.
func (t target) describe() string {
	if t.Slug != "" {
		return "board " + t.Slug + " (" + t.DB + ")"
	}
	return t.DB
}

// slug is the board for --json output: null when selected by --db.
func (t target) slug() *string {
	if t.Slug == "" {
		return nil
	}
	s := t.Slug
	return &s
}

// resolve turns the flags into targets. An explicit --board names that
// board's own database; without flags the active board is used, and
// HERMES_KANBAN_DB wins as it does for kanban.
func (s *selector) resolve(env home.Env) ([]target, error) {
	n := 0
	for _, set := range []bool{s.board != "", s.db != "", s.all} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, usagef("--board, --db and --all are mutually exclusive")
	}
	b := home.NewBoards(env)
	switch {
	case s.db != "":
		return dbTarget(env, s.db)
	case s.all:
		return allTargets(b), nil
	case s.board != "":
		slug, err := home.NormalizeSlug(s.board)
		if err != nil {
			return nil, usagef("%v", err)
		}
		if slug == "" {
			return nil, usagef("--board needs a slug")
		}
		if !b.Exists(slug) {
			return nil, fmt.Errorf("board '%s' does not exist", slug)
		}
		return []target{{Slug: slug, DB: b.BoardDBPath(slug), BackupDir: filepath.Join(b.Dir(slug), "backups")}}, nil
	}
	slug := b.Current()
	db := b.DBPath("")
	dir := filepath.Join(b.Dir(slug), "backups")
	if env.Getenv("HERMES_KANBAN_DB") != "" {
		dir = filepath.Join(filepath.Dir(db), "backups")
	}
	return []target{{Slug: slug, DB: db, BackupDir: dir}}, nil
}

func dbTarget(env home.Env, p string) ([]target, error) {
	abs, err := filepath.Abs(env.ExpandUser(p))
	if err != nil {
		return nil, usagef("--db: %v", err)
	}
	return []target{{DB: abs, BackupDir: filepath.Join(filepath.Dir(abs), "backups")}}, nil
}

// allTargets lists every board, archived ones included (their schema is
// as old as anyone's), each at its own database.
func allTargets(b *home.Boards) []target {
	var out []target
	for _, m := range b.List(true) {
		db := b.BoardDBPath(m.Slug)
		_, err := os.Stat(db)
		out = append(out, target{Slug: m.Slug, DB: db, BackupDir: filepath.Join(b.Dir(m.Slug), "backups"),
			Missing: errors.Is(err, fs.ErrNotExist)})
	}
	return out
}
