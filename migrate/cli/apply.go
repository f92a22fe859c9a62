package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/migrate"
)

// applyVerb migrates the board: backup, one verified transaction, and an
// optional journal-mode change.
type applyVerb struct {
	json     bool
	journal  string
	noBackup bool
	force    bool
}

func (v *applyVerb) flags(fs *pflag.FlagSet) {
	fs.BoolVar(&v.json, "json", false, "print JSON")
	fs.StringVar(&v.journal, "journal", "keep", "journal mode afterwards: keep, wal or delete")
	fs.BoolVar(&v.noBackup, "no-backup", false, "skip the pre-migrate backup")
	fs.BoolVar(&v.force, "force", false, "switch to WAL even though the local hermes Python's SQLite has the WAL-reset bug")
}

func (v *applyVerb) jsonOut() bool { return v.json }

// writes: apply changes the board (refused on one marked damaged).
func (v *applyVerb) writes() bool { return true }

// check validates --journal before any board is touched.
func (v *applyVerb) check() error {
	switch strings.ToLower(strings.TrimSpace(v.journal)) {
	case "keep", "wal", "delete":
		return nil
	}
	return fmt.Errorf("invalid --journal '%s' (choose keep, wal or delete)", v.journal)
}

// applyJSON is the --json shape of apply. Result is "migrated",
// "nothing to do", "journal changed" or "failed".
type applyJSON struct {
	Board  *string `json:"board"`
	Result string  `json:"result"`
	Empty  bool    `json:"empty,omitempty"` // a zero-byte file: kanban initialises it
	*migrate.Report
	Backup *string `json:"backup"` // null when none was written
	Error  string  `json:"error,omitempty"`
}

func (v *applyVerb) run(ctx context.Context, a *App, t target) (any, error) {
	if t.Missing {
		if !v.json {
			fmt.Fprintf(a.Stdout, "%s: no database yet, nothing to do\n", t.Describe())
		}
		return applyJSON{Board: t.SlugOrNil(), Result: "nothing to do", Report: &migrate.Report{DB: t.DB, Steps: []migrate.Step{}}}, nil
	}
	o := migrate.UpgradeOptions{
		Now: a.now(), Journal: v.journal, Force: v.force, Peer: a.peer, NetworkFS: a.networkFS,
		LockTimeout: a.leaseTimeout(), BusyTimeout: a.busyTimeout(), Hooks: a.overrides().Hooks, Board: t.Slug,
	}
	if !v.noBackup {
		o.BackupDir = t.Backups()
	}
	rep, err := migrate.Upgrade(ctx, t.DB, o)
	if errors.Is(err, migrate.ErrEmptyBoard) {
		if !v.json {
			fmt.Fprintf(a.Stdout, "%s: %s; nothing to do\n", t.Describe(), emptyNote)
		}
		return applyJSON{Board: t.SlugOrNil(), Result: "nothing to do", Empty: true, Report: &migrate.Report{DB: t.DB, Steps: []migrate.Step{}, NothingToDo: true}}, nil
	}
	err = a.explain(t, err)
	if rep == nil {
		rep = &migrate.Report{DB: t.DB}
	}
	if rep.Steps == nil {
		rep.Steps = []migrate.Step{}
	}
	obj := applyJSON{Board: t.SlugOrNil(), Report: rep, Result: result(rep, err)}
	if rep.Backup != "" {
		obj.Backup = &rep.Backup
	}
	if err != nil {
		obj.Error = oneLine(err.Error())
		return obj, err
	}
	if !v.json {
		writeApply(a, t, rep)
	}
	return obj, nil
}

func result(rep *migrate.Report, err error) string {
	switch {
	case err != nil:
		return "failed"
	case rep.NothingToDo:
		return "nothing to do"
	case len(rep.Steps) == 0:
		return "journal changed"
	}
	return "migrated"
}

func writeApply(a *App, t target, rep *migrate.Report) {
	w := a.Stdout
	if rep.NothingToDo {
		fmt.Fprintf(w, "%s: nothing to do, already at the current schema (journal mode %s)\n", t.Describe(), rep.JournalAfter)
		return
	}
	if len(rep.Steps) > 0 {
		fmt.Fprintf(w, "%s: migrated in one transaction: steps %s\n", t.Describe(), stepNumbers(rep.Steps))
		if rep.Backup != "" {
			fmt.Fprintf(w, "backup: %s\n", rep.Backup)
		} else {
			fmt.Fprintf(w, "backup: none (--no-backup)\n")
		}
		fmt.Fprintf(w, "verified: integrity_check ok, schema conforms\n")
	}
	if rep.JournalBefore != rep.JournalAfter {
		fmt.Fprintf(w, "journal mode: %s -> %s\n", rep.JournalBefore, rep.JournalAfter)
	}
}
