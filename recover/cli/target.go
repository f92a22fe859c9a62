package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/shim/home"
	"github.com/kanbanshim/kanbanshim/shim/store"
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
	fs.BoolVar(&s.all, "all", s.all, "act on every board (check, auto)")
}

// target is one board to act on.
type target struct {
	Slug       string // "" when selected by --db
	DB         string
	Quarantine string // where swaps and kanban keep the board's quarantine sets
	Missing    bool   // --all only: the board has no database file yet
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

// fix is the command that repairs this board, as kanban prints it.
func (t target) fix() string {
	if t.Slug != "" {
		return "kanban-recover auto --board " + t.Slug
	}
	return "kanban-recover auto --db " + t.DB
}

// resolve turns the flags into targets, the way kanban resolves boards:
// an explicit --board names that board's own database; without flags the
// active board is used, and HERMES_KANBAN_DB wins. Quarantine sets go
// where kanban puts its detection snapshots: <board dir>/quarantine (for
// the default board <root>/kanban/boards/default/quarantine), or next to
// a database given by path.
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
		abs, err := filepath.Abs(env.ExpandUser(s.db))
		if err != nil {
			return nil, usagef("--db: %v", err)
		}
		return []target{{DB: abs, Quarantine: filepath.Join(filepath.Dir(abs), "quarantine")}}, nil
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
		return []target{{Slug: slug, DB: b.BoardDBPath(slug), Quarantine: filepath.Join(b.Dir(slug), "quarantine")}}, nil
	}
	slug := b.Current()
	t := target{Slug: slug, DB: b.DBPath(""), Quarantine: filepath.Join(b.Dir(slug), "quarantine")}
	if env.Getenv("HERMES_KANBAN_DB") != "" {
		t.Slug, t.Quarantine = "", filepath.Join(filepath.Dir(t.DB), "quarantine")
	}
	return []target{t}, nil
}

// allTargets lists every board, archived ones included, each at its own
// database.
func allTargets(b *home.Boards) []target {
	var out []target
	for _, m := range b.List(true) {
		db := b.BoardDBPath(m.Slug)
		_, err := os.Stat(db)
		out = append(out, target{Slug: m.Slug, DB: db, Quarantine: filepath.Join(b.Dir(m.Slug), "quarantine"),
			Missing: errors.Is(err, fs.ErrNotExist)})
	}
	return out
}

// leaseTimeout is kanban's: 30 s, kanban.lease_timeout_seconds, then
// HERMES_KANBAN_LEASE_TIMEOUT_SECONDS.
func (a *App) leaseTimeout() time.Duration {
	var secs float64
	if cfg, err := home.LoadConfig(a.Env); err == nil {
		if f, ok, err := cfg.Float("lease_timeout_seconds"); err == nil && ok {
			secs = f
		}
	}
	return lockd.LeaseTimeout(a.Env.Getenv, secs)
}

// busyTimeout is upstream's busy_timeout or HERMES_KANBAN_BUSY_TIMEOUT_MS.
func (a *App) busyTimeout() time.Duration {
	if raw := strings.TrimSpace(a.Env.Getenv("HERMES_KANBAN_BUSY_TIMEOUT_MS")); raw != "" {
		if n, err := strconv.Atoi(raw); err == nil && n >= 1 {
			return time.Duration(n) * time.Millisecond
		}
	}
	return store.DefaultBusyTimeout
}

// journalMode is config.yaml's database.journal_mode, the new board's
// mode when a swap cannot read the original's.
func (a *App) journalMode() string {
	if cfg, err := home.LoadConfig(a.Env); err == nil {
		return cfg.JournalMode
	}
	return "wal"
}

func (a *App) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// progress is where salvage progress goes: stderr when it is a terminal.
func (a *App) progress() io.Writer {
	if a.StderrTTY {
		return a.Stderr
	}
	return nil
}
