package cli

import (
	"context"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/shim/store"
)

var (
	blockVerb = &verbInfo{name: "block", usage: "block <task_id> [reason…] [--ids ID…] [--kind KIND]", summary: "block tasks (a human must unblock)",
		required: []string{"task_id"}, maxArgs: -1, nargs: []string{"--ids"}, mutating: true, new: func() command { return &blockCmd{} },
		example: "  kanban block t_abc \"need input on the rate-limit key\" --kind needs_input\n  kanban block t_abc waiting --ids t_def t_ghi"}
	scheduleVerb = &verbInfo{name: "schedule", usage: "schedule <task_id> [reason…] [--ids ID…]", summary: "park tasks until a later unblock",
		required: []string{"task_id"}, maxArgs: -1, nargs: []string{"--ids"}, mutating: true, new: func() command { return &scheduleCmd{} },
		example: "  kanban schedule t_abc \"retry after the maintenance window\""}
	unblockVerb = &verbInfo{name: "unblock", usage: "unblock <task_id>… [--reason R]", summary: "return blocked or scheduled tasks to the queue",
		required: []string{"task_ids"}, maxArgs: -1, mutating: true, new: func() command { return &unblockCmd{} },
		example: "  kanban unblock t_abc --reason \"key provided\""}
	promoteVerb = &verbInfo{name: "promote", usage: "promote <task_id> [reason…] [--ids ID…] [--dry-run] [--json]", summary: "move todo/blocked tasks to ready",
		required: []string{"task_id"}, maxArgs: -1, nargs: []string{"--ids"}, mutating: true, new: func() command { return &promoteCmd{} },
		example: "  kanban promote t_abc \"parent verified by hand\""}
)

type blockCmd struct {
	ids  []string
	kind choiceString
}

func (c *blockCmd) flags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&c.ids, "ids", nil, "more task ids")
	c.kind = choiceString{choices: store.BlockKinds}
	fs.Var(&c.kind, "kind", "typed reason: capability, dependency, needs_input, transient")
}

// note is upstream's "PREFIX: reason" audit comment, nil without a
// reason. The store writes it in the transition's own transaction, so a
// refused transition leaves no comment (upstream writes it first, alone).
func note(reason *string, author, prefix string) *store.Note {
	if reason == nil || *reason == "" {
		return nil
	}
	return &store.Note{Author: author, Body: prefix + ": " + *reason}
}

func (c *blockCmd) run(ctx context.Context, a *App, args []string) error {
	reason := joinedWords(args[1:])
	suffix := ""
	if reason != nil && *reason != "" {
		suffix = ": " + *reason
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	ids := append([]string{args[0]}, c.ids...)
	op := func(id string) (bool, error) {
		run, err := a.workerRunID(id)
		if err != nil {
			return false, err
		}
		return st.BlockTaskNoted(ctx, id, reason, c.kind.v, run, note(reason, a.Env.Author(), "BLOCKED"))
	}
	return a.bulkApply(ids, op, func(id string) string {
		t, _ := st.GetTask(id)
		where, kind := "blocked", c.kind.v
		if t != nil {
			where = t.Status
			if t.BlockKind != nil {
				kind = t.BlockKind
			}
		}
		switch {
		case where == "todo":
			return id + " → todo (dependency wait)" + suffix
		case c.kind.String() == "dependency" && where == "blocked":
			return "Blocked " + id + " as needs_input (no open parent to wait on)" + suffix
		case where == "triage":
			verdict := "orchestration attention needed"
			if kind != nil && *kind == "needs_input" {
				verdict = "needs a human decision"
			}
			return id + " → triage (unblock loop detected — " + verdict + ")" + suffix
		}
		return "Blocked " + id + suffix
	}, func(id string) string { return "cannot block " + id })
}

type scheduleCmd struct{ ids []string }

func (c *scheduleCmd) flags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&c.ids, "ids", nil, "more task ids")
}

func (c *scheduleCmd) run(ctx context.Context, a *App, args []string) error {
	reason := joinedWords(args[1:])
	suffix := ""
	if reason != nil && *reason != "" {
		suffix = ": " + *reason
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	ids := append([]string{args[0]}, c.ids...)
	op := func(id string) (bool, error) {
		run, err := a.workerRunID(id)
		if err != nil {
			return false, err
		}
		return st.ScheduleTaskNoted(ctx, id, reason, run, note(reason, a.Env.Author(), "SCHEDULED"))
	}
	return a.bulkApply(ids, op, func(id string) string { return "Scheduled " + id + suffix },
		func(id string) string { return "cannot schedule " + id })
}

type unblockCmd struct{ reason optString }

func (c *unblockCmd) flags(fs *pflag.FlagSet) {
	fs.Var(&c.reason, "reason", "why (recorded as a comment)")
}

func (c *unblockCmd) run(ctx context.Context, a *App, ids []string) error {
	if a.Env.Getenv("HERMES_KANBAN_TASK") != "" {
		return failf("kanban unblock is orchestrator-only; workers must hand off their assigned task")
	}
	var reason *string
	if c.reason.v != nil {
		if r := trimSpace(*c.reason.v); r != "" {
			reason = &r
		}
	}
	suffix := ""
	if reason != nil {
		suffix = ": " + *reason
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	op := func(id string) (bool, error) {
		return st.UnblockTaskNoted(ctx, id, note(reason, a.Env.Author(), "UNBLOCK"))
	}
	return a.bulkApply(ids, op, func(id string) string { return "Unblocked " + id + suffix },
		func(id string) string { return "cannot unblock " + id + " (not blocked/scheduled?)" })
}

type promoteCmd struct {
	ids                 []string
	force, dryRun, json bool
}

func (c *promoteCmd) flags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&c.ids, "ids", nil, "more task ids")
	fs.BoolVar(&c.force, "force", false, "accepted for compatibility; parents are always checked")
	fs.BoolVar(&c.dryRun, "dry-run", false, "only check")
	fs.BoolVar(&c.json, "json", false, "JSON output")
}

func (c *promoteCmd) run(ctx context.Context, a *App, args []string) error {
	reason := joinedWords(args[1:])
	seen := map[string]bool{}
	var ids []string
	for _, id := range append([]string{args[0]}, c.ids...) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	type result struct {
		id, refusal string
	}
	var results []result
	failed := false
	for _, id := range ids {
		refusal, err := st.PromoteTask(ctx, id, a.Env.Author(), reason, c.dryRun)
		if err != nil {
			return err
		}
		failed = failed || refusal != ""
		results = append(results, result{id, refusal})
	}
	if c.json {
		var objs []any
		for _, r := range results {
			var e any
			if r.refusal != "" {
				e = r.refusal
			}
			objs = append(objs, pyObj("task_id", r.id, "promoted", r.refusal == "", "dry_run", c.dryRun, "reason", reason, "error", e))
		}
		if len(objs) == 1 {
			a.printJSON(objs[0], false)
		} else {
			a.printJSON(objs, false)
		}
	} else {
		tag, label, suffix := "", "Promoted", ""
		if c.dryRun {
			tag, label = " (dry)", "Would promote"
		}
		if reason != nil && *reason != "" {
			suffix = ": " + *reason
		}
		for _, r := range results {
			if r.refusal == "" {
				a.out("%s %s -> ready%s%s", label, r.id, tag, suffix)
			} else {
				a.errLine("cannot promote %s: %s", r.id, r.refusal)
			}
		}
	}
	if failed {
		return errFailedQuietly
	}
	return nil
}
