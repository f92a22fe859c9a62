package cli

import (
	"context"
	"fmt"
	"io"

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
	f := store.ListFilter{Assignee: assignee, Status: c.status.v, Tenant: c.tenant.v,
		SessionID: c.session.v, IncludeArchived: c.archived, OrderBy: c.sort.String(),
		WorkflowTemplateID: c.wtid.v, CurrentStepKey: c.stepKey.v}
	out := newStreamOut(a.Stdout, st.JournalMode())
	if c.json {
		err = listJSON(st, f, out)
	} else {
		a.listHeader(out)
		err = listText(st, f, out)
	}
	if ferr := out.finish(err == nil); err == nil {
		err = ferr
	}
	return err
}

// listJSON writes the tasks as json.dumps(tasks, indent=2) would, one
// task at a time.
func listJSON(st *store.Store, f store.ListFilter, w io.Writer) error {
	lw := py.NewListWriter(w, 2, false)
	var o py.Object
	if err := st.EachTask(f, func(t *store.Task) error {
		o = appendTaskObject(o[:0], t)
		return lw.Add(o)
	}); err != nil {
		return err
	}
	if err := lw.Close(); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// listText writes one line per task, or "(no matching tasks)".
func listText(st *store.Store, f store.ListFilter, w io.Writer) error {
	var line []byte
	n := 0
	err := st.EachTask(f, func(t *store.Task) error {
		n++
		line = appendTaskLine(line[:0], t)
		_, err := w.Write(line)
		return err
	})
	if err == nil && n == 0 {
		_, err = io.WriteString(w, "(no matching tasks)\n")
	}
	return err
}

// listHeader names the board when there are others.
func (a *App) listHeader(w io.Writer) {
	if n := len(a.boards.List(false)); n > 1 {
		s := "s"
		if n-1 == 1 {
			s = ""
		}
		fmt.Fprintf(w, "Board: %s (%d other board%s — `hermes kanban boards list`)\n\n", a.board(), n-1, s)
	}
}
