package cli

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/internal/py"

	"github.com/kanbanshim/kanbanshim/shim/store"
)

var (
	listVerb = &verbInfo{name: "list", aliases: []string{"ls"}, usage: "list [--mine] [--assignee P] [--status S] [--tenant T] [--archived] [--sort KEY] [--json]",
		summary: "list tasks", maxArgs: 0, new: func() command { return &listCmd{} },
		example: "  kanban list\n  kanban ls --status ready --json\n  kanban --board side-project list --sort created"}
)

type listCmd struct {
	mine, archived, json                     bool
	assignee, tenant, session, wtid, stepKey optString
	status, sort                             choiceString
}

func (c *listCmd) flags(fs *pflag.FlagSet) {
	fs.BoolVar(&c.mine, "mine", false, "tasks assigned to the current profile")
	fs.Var(&c.assignee, "assignee", "filter by assignee")
	c.status = choiceString{choices: store.ValidStatuses}
	fs.Var(&c.status, "status", "filter by status")
	fs.Var(&c.tenant, "tenant", "filter by tenant")
	fs.Var(&c.session, "session", "filter by originating session id")
	fs.BoolVar(&c.archived, "archived", false, "include archived tasks")
	fs.BoolVar(&c.json, "json", false, "JSON output")
	c.sort = choiceString{choices: store.SortKeys()}
	fs.Var(&c.sort, "sort", "sort order (default priority)")
	fs.Var(&c.wtid, "workflow-template-id", "filter by workflow template")
	fs.Var(&c.stepKey, "step-key", "filter by current step key")
}

func (c *listCmd) run(ctx context.Context, a *App, _ []string) error {
	assignee := c.assignee.v
	if c.mine && assignee == nil {
		assignee = ptr(a.Env.Author())
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	if _, err := st.RecomputeReady(ctx, 0); err != nil {
		return err
	}
	tasks, err := st.ListTasks(store.ListFilter{Assignee: assignee, Status: c.status.v, Tenant: c.tenant.v,
		SessionID: c.session.v, IncludeArchived: c.archived, OrderBy: c.sort.String(),
		WorkflowTemplateID: c.wtid.v, CurrentStepKey: c.stepKey.v})
	if err != nil {
		return err
	}
	if c.json {
		out := make([]py.Object, len(tasks))
		for i, t := range tasks {
			out[i] = taskObject(t)
		}
		return a.printJSONList(out, false)
	}
	if n := len(a.boards.List(false)); n > 1 {
		s := "s"
		if n-1 == 1 {
			s = ""
		}
		a.out("Board: %s (%d other board%s — `hermes kanban boards list`)\n", a.board(), n-1, s)
	}
	if len(tasks) == 0 {
		a.out("(no matching tasks)")
		return nil
	}
	for _, t := range tasks {
		fmt.Fprintln(a.Stdout, fmtTaskLine(t))
	}
	return nil
}
