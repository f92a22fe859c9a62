package cli

import (
	"context"

	"github.com/spf13/pflag"
)

var (
	archiveVerb = &verbInfo{name: "archive", usage: "archive <task_id>… | archive --rm <task_id>…", summary: "archive tasks, or delete archived ones",
		maxArgs: -1, nargs: []string{"--rm"}, mutating: true, new: func() command { return &archiveCmd{} },
		example: "  kanban archive t_abc t_def\n  kanban archive --rm t_abc"}
)

type archiveCmd struct{ purge []string }

func (c *archiveCmd) flags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&c.purge, "rm", nil, "hard-delete these archived tasks")
}

func (c *archiveCmd) run(ctx context.Context, a *App, ids []string) error {
	if len(ids) > 0 && len(c.purge) > 0 {
		return failf("choose either task_ids to archive or --rm archived task_ids")
	}
	if len(ids) == 0 && len(c.purge) == 0 {
		return failf("at least one task_id is required")
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	if len(c.purge) > 0 {
		return a.bulkApply(c.purge, func(id string) (bool, error) { return st.DeleteArchivedTask(ctx, id) },
			func(id string) string { return "Deleted " + id }, func(id string) string { return "cannot delete " + id + " (must already be archived)" })
	}
	return a.bulkApply(ids, func(id string) (bool, error) { return st.ArchiveTask(ctx, id) },
		func(id string) string { return "Archived " + id }, func(id string) string { return "cannot archive " + id })
}
