package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/clikit"
	"github.com/kanbanshim/kanbanshim/shim/home"
)

// selector holds the board-selection flags, accepted before or after the
// verb; resolution is shared with kanban-migrate (home.Selector).
type selector struct{ home.Selector }

func (s *selector) register(fs *pflag.FlagSet) {
	s.Selector.Register(fs, "act on every board (check, auto, snapshot)")
}

// target is one board to act on; its quarantine sets go where kanban
// puts its detection snapshots (<board dir>/quarantine).
type target = home.Target

// nameResolve ends err with the command that resolves t's interrupted
// swap, when a failed swap or auto left one behind.
func nameResolve(t target, err error) error {
	if err != nil && board.SwapPending(t.DB) {
		return fmt.Errorf("%w. To resolve the interrupted swap run: %s", err, t.RepairCommand())
	}
	return err
}

// resolve turns the flags into targets (see home.Selector.Resolve).
func (s *selector) resolve(env home.Env) ([]target, error) {
	ts, err := s.Selector.Resolve(env)
	if errors.Is(err, home.ErrUsage) {
		return nil, clikit.Usagef("%s", strings.TrimPrefix(err.Error(), home.ErrUsage.Error()+": "))
	}
	return ts, err
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

// leaseTimeout and busyTimeout are kanban's (shim/home).
func (a *App) leaseTimeout() time.Duration {
	cfg, _ := home.LoadConfig(a.Env)
	return home.LeaseTimeout(a.Env, cfg)
}

func (a *App) busyTimeout() time.Duration { return home.BusyTimeout(a.Env) }
