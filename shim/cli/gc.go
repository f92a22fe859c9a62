package cli

import (
	"context"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/shim/store"
)

var (
	gcVerb = &verbInfo{name: "gc", usage: "gc [--event-retention-days N] [--log-retention-days N]",
		summary: "remove finished tasks' scratch workspaces, old events and old worker logs", maxArgs: 0, mutating: true,
		new: func() command { return &gcCmd{} }, example: "  kanban gc\n  kanban gc --event-retention-days 90 --log-retention-days 7"}
)

type gcCmd struct{ eventDays, logDays int64 }

func (c *gcCmd) flags(fs *pflag.FlagSet) {
	intVar(fs, &c.eventDays, "event-retention-days", 30, "delete events of done/archived tasks older than N days")
	intVar(fs, &c.logDays, "log-retention-days", 30, "delete worker log files older than N days")
}

func (c *gcCmd) run(ctx context.Context, a *App, _ []string) error {
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	workspaces, err := st.GCWorkspaces(ctx)
	if err != nil {
		return err
	}
	events, err := st.GCEvents(ctx, c.eventDays)
	if err != nil {
		return err
	}
	logs, err := store.GCLogs(a.boards.LogsDir(a.board()), c.logDays, a.now())
	if err != nil {
		return err
	}
	a.out("GC complete: %d workspace(s), %d event row(s), %d log file(s) removed", workspaces, events, logs)
	return nil
}
