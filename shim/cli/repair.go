package cli

import (
	"context"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlitefile"
	"github.com/kanbanshim/kanbanshim/recover"
)

var (
	// repair never opens the board through a.open (auto-init): that
	// refuses a damaged board and would create a missing one.
	repairVerb = &verbInfo{name: "repair", usage: "repair [--json]", summary: "check the board's integrity and rebuild damaged indexes",
		maxArgs: 0, mutating: true, new: func() command { return &repairCmd{} },
		example: "  kanban repair\n  kanban --board side-project repair --json"}
)

// repairMaxLines is how many integrity_check lines the text report shows.
const repairMaxLines = 10

type repairCmd struct{ json bool }

func (c *repairCmd) flags(fs *pflag.FlagSet) {
	fs.BoolVar(&c.json, "json", false, "print the repair report as JSON")
}

func (c *repairCmd) run(ctx context.Context, a *App, _ []string) error {
	opts := a.storeOptions()
	res, err := recover.Repair(ctx, a.dbPath(), recover.RepairOptions{BusyTimeout: opts.BusyTimeout,
		LeaseTimeout: opts.LeaseTimeout, QuarantineDir: opts.QuarantineDir, Now: a.Now})
	if err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return failf("%s repair: %s", a.Prog, oneLine(err.Error()))
	}
	if c.json {
		a.printJSON(repairObject(res), true)
	} else {
		a.printRepair(res)
	}
	if d := res.MarkerCleared; d != nil {
		a.errLine("%s repair: cleared the damage marker (%s); writes are allowed again", a.Prog, d.Summary())
	}
	if res.Status == recover.RepairCorrupt {
		return errFailedQuietly
	}
	return nil
}

func repairObject(r *recover.RepairResult) py.Object {
	var backup any
	if r.BackupPath != "" {
		backup = r.BackupPath
	}
	return py.Obj("status", r.Status, "db_path", r.DBPath, "messages", strList(r.Messages),
		"post_repair_messages", strList(r.PostRepair), "backup_path", backup, "reindexed", strList(r.Reindexed))
}

func (a *App) printRepair(r *recover.RepairResult) {
	switch r.Status {
	case recover.RepairMissing:
		a.out("No kanban DB at %s — nothing to repair.", r.DBPath)
	case recover.RepairOK:
		a.out("%s: integrity_check ok — no repair needed.", r.DBPath)
	case recover.RepairRepaired:
		a.out("%s: repaired.", r.DBPath)
		a.out("  reindexed: %s", strings.Join(r.Reindexed, ", "))
		if r.BackupPath != "" {
			a.out("  pre-repair backup: %s", r.BackupPath)
		}
		a.out("  integrity_check now ok.")
	default:
		a.printCorrupt(r)
	}
}

// printCorrupt is upstream's CORRUPT block on stderr, with kanbanshim's
// recovery tool as the fix in place of hand-run `sqlite3 .recover`.
func (a *App) printCorrupt(r *recover.RepairResult) {
	a.errLine("%s: CORRUPT.", r.DBPath)
	for _, m := range head(r.Messages, repairMaxLines) {
		a.errLine("  %s", m)
	}
	if len(r.Reindexed) > 0 {
		a.errLine("  REINDEX (%s) attempted but integrity_check is still failing:", strings.Join(r.Reindexed, ", "))
		for _, m := range head(r.PostRepair, repairMaxLines) {
			a.errLine("    %s", m)
		}
	} else {
		a.errLine("  Not an index-only failure — automatic REINDEX repair does not apply (fail-closed).")
	}
	if r.BackupPath != "" {
		a.errLine("  corrupt copy quarantined at: %s", r.BackupPath)
	}
	if a.notADatabase() {
		a.errLine("  Nothing in it can be salvaged: `%s` moves it (and its sidecars) into quarantine and starts a fresh board.", a.recoverCommand())
		return
	}
	a.errLine("  Recover with `%s` (it salvages a copy into a fresh board, checks it and swaps it in; "+
		"the damaged file is kept in quarantine) or move the file aside to start a new board.", a.recoverCommand())
}

// recoverCommand names the kanban-recover invocation for this board
// (with --fresh when the file is not a database at all).
func (a *App) recoverCommand() string {
	if a.notADatabase() {
		return board.RepairCommand(a.dbPath(), repairBoard(a.Env, a.board()), board.FreshFlag)
	}
	return board.RepairCommand(a.dbPath(), repairBoard(a.Env, a.board()))
}

// notADatabase reports whether the board's file holds nothing to salvage.
func (a *App) notADatabase() bool {
	return sqlitefile.NotADatabase(a.dbPath(), board.WAL(a.dbPath()))
}

func head(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
