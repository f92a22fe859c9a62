package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

var (
	completeVerb = &verbInfo{name: "complete", usage: "complete <task_id>… [--result R] [--summary S] [--metadata JSON] [--force]",
		summary: "mark tasks done", required: []string{"task_ids"}, maxArgs: -1, mutating: true,
		new:     func() command { return &completeCmd{} },
		example: "  kanban complete t_9fc1a3 --summary \"shipped v2\" --metadata '{\"pr\": 42}'\n  kanban complete t_a t_b t_c --result \"bulk close\""}
	editVerb = &verbInfo{name: "edit", usage: "edit <task_id> [--title T] [--body B] [--priority N] [--result R [--summary S] [--metadata JSON]]",
		summary: "edit a task, or backfill the result of a done task", required: []string{"task_id"}, maxArgs: 1, mutating: true,
		new: func() command { return &editCmd{} }, example: "  kanban edit t_9fc1a3 --result \"final numbers attached\""}
)

type completeCmd struct {
	result, summary, metadata optString
	force                     bool
}

func (c *completeCmd) flags(fs *pflag.FlagSet) {
	fs.Var(&c.result, "result", "result text")
	fs.Var(&c.summary, "summary", "handoff summary (per task)")
	fs.Var(&c.metadata, "metadata", "handoff metadata, a JSON object (per task)")
	fs.BoolVar(&c.force, "force", false, "close a live worker's run and complete anyway")
}

// parseMetadata is upstream's --metadata check: a JSON object or nothing.
func parseMetadata(raw *string) (py.Object, error) {
	if raw == nil || *raw == "" {
		return nil, nil
	}
	v, err := py.Loads(*raw)
	if err != nil {
		return nil, usagef("kanban: --metadata: %s", strings.TrimPrefix(err.Error(), py.ErrNotJSON.Error()+": "))
	}
	o, ok := v.(py.Object)
	if !ok {
		return nil, usagef("kanban: --metadata: must be a JSON object")
	}
	return o, nil
}

func (c *completeCmd) run(ctx context.Context, a *App, ids []string) error {
	if len(ids) > 1 && (truthyPtr(c.summary.v) || truthyPtr(c.metadata.v)) {
		return usagef("kanban: --summary / --metadata are per-task and can't be used with multiple ids (would apply the same handoff to every task). Complete tasks one at a time, or drop the flags for the bulk close.")
	}
	meta, err := parseMetadata(c.metadata.v)
	if err != nil {
		return err
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	fail := map[string]string{}
	return a.bulkApply(ids, func(id string) (bool, error) {
		run, err := a.workerRunID(id)
		if err != nil {
			return false, err
		}
		fail[id] = fmt.Sprintf("cannot complete %s (unknown id or terminal state)", id)
		done, err := st.CompleteTask(ctx, id, store.Completion{Result: c.result.v, Summary: c.summary.v, Metadata: meta, ExpectedRun: run, Force: c.force})
		if errors.Is(err, store.ErrLiveClaim) {
			fail[id] = fmt.Sprintf("cannot complete %s: a live worker is running it. Wait for the worker, `hermes kanban reclaim %s` to release it, or re-run with --force to close its run and complete anyway.", id, id)
			return false, nil
		}
		if err != nil || done {
			return done, err
		}
		open, err := st.UnsatisfiedParents(id)
		if err != nil {
			return false, err
		}
		if len(open) > 0 {
			var parts []string
			for _, p := range open {
				parts = append(parts, fmt.Sprintf("%s (%s)", p.ID, p.Status))
			}
			fail[id] = fmt.Sprintf("cannot complete %s: unsatisfied parent dependencies: %s; complete the parents first, or `hermes kanban unlink <parent> %s`.", id, strings.Join(parts, ", "), id)
		}
		return false, nil
	}, func(id string) string { return "Completed " + id }, func(id string) string { return fail[id] })
}

func truthyPtr(s *string) bool { return s != nil && *s != "" }

type editCmd struct {
	result, summary, metadata, title, body optString
	priority                               optInt
}

func (c *editCmd) flags(fs *pflag.FlagSet) {
	fs.Var(&c.title, "title", "new title")
	fs.Var(&c.body, "body", "new body")
	fs.Var(&c.priority, "priority", "new priority")
	fs.Var(&c.result, "result", "result of a done task")
	fs.Var(&c.summary, "summary", "handoff summary (with --result)")
	fs.Var(&c.metadata, "metadata", "handoff metadata JSON (with --result)")
}

func (c *editCmd) run(ctx context.Context, a *App, args []string) error {
	if c.result.v == nil && (c.summary.v != nil || c.metadata.v != nil) {
		return usagef("kanban edit: --summary and --metadata require --result")
	}
	if c.title.v == nil && c.body.v == nil && c.priority.v == nil && c.result.v == nil {
		return usagef("kanban edit: provide --title, --body, --priority, or --result")
	}
	meta, err := parseMetadata(c.metadata.v)
	if err != nil {
		return err
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	id := args[0]
	ok, err := st.EditTask(ctx, id, store.Edit{Title: c.title.v, Body: c.body.v, Priority: c.priority.v, Result: c.result.v, Summary: c.summary.v, Metadata: meta})
	if err != nil {
		return err
	}
	if !ok {
		return failf("cannot edit %s (unknown id, or --result used on a task that is not done)", id)
	}
	a.out("Edited %s", id)
	return nil
}
