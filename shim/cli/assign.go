package cli

import (
	"context"
	"errors"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/shim/store"
)

var (
	assignVerb = &verbInfo{name: "assign", usage: "assign <task_id> <profile|none>", summary: "assign (or unassign) a task",
		required: []string{"task_id", "profile"}, maxArgs: 2, mutating: true, new: func() command { return &assignCmd{} },
		example: "  kanban assign t_abc researcher\n  kanban assign t_abc none"}
	reassignVerb = &verbInfo{name: "reassign", usage: "reassign <task_id> <profile|none> [--reclaim] [--reason R]", summary: "reassign a task, optionally releasing its claim first",
		required: []string{"task_id", "profile"}, maxArgs: 2, mutating: true, new: func() command { return &reassignCmd{} },
		example: "  kanban reassign t_abc backup-model --reclaim --reason \"model outage\""}
	reclaimVerb = &verbInfo{name: "reclaim", usage: "reclaim <task_id> [--reason R]", summary: "release a running task's claim (worker stopped first)",
		required: []string{"task_id"}, maxArgs: 1, mutating: true, new: func() command { return &reclaimCmd{} },
		example: "  kanban reclaim t_abc --reason \"worker wedged\""}
	setModelVerb = &verbInfo{name: "set-model", usage: "set-model <task_id> [model|none] [--provider P]", summary: "set or clear a task's model override",
		required: []string{"task_id"}, maxArgs: 2, mutating: true, new: func() command { return &setModelCmd{} },
		example: "  kanban set-model t_abc gpt-5 --provider openai\n  kanban set-model t_abc none"}
)

type assignCmd struct{}

func (c *assignCmd) flags(*pflag.FlagSet) {}

func (c *assignCmd) run(ctx context.Context, a *App, args []string) error {
	profile := noneProfile(args[1])
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	ok, err := st.AssignTask(ctx, args[0], profile)
	if err != nil {
		return err
	}
	if !ok {
		return failf("no such task: %s", args[0])
	}
	a.out("Assigned %s to %s", args[0], strOr(profile, "(unassigned)"))
	return nil
}

type reassignCmd struct {
	reclaim bool
	reason  optString
}

func (c *reassignCmd) flags(fs *pflag.FlagSet) {
	fs.BoolVar(&c.reclaim, "reclaim", false, "release a running claim first")
	fs.Var(&c.reason, "reason", "why (recorded on the reclaim)")
}

func (c *reassignCmd) run(ctx context.Context, a *App, args []string) error {
	profile := noneProfile(args[1])
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	ok, err := st.ReassignTask(ctx, args[0], profile, c.reclaim, c.reason.v)
	if err != nil {
		return err
	}
	if !ok {
		return failf("cannot reassign %s (unknown id, or still running — pass --reclaim to release first)", args[0])
	}
	suffix := ""
	if c.reclaim {
		suffix = " (claim reclaimed)"
	}
	a.out("Reassigned %s to %s%s", args[0], strOr(profile, "(unassigned)"), suffix)
	return nil
}

type reclaimCmd struct{ reason optString }

func (c *reclaimCmd) flags(fs *pflag.FlagSet) { fs.Var(&c.reason, "reason", "why") }

func (c *reclaimCmd) run(ctx context.Context, a *App, args []string) error {
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	ok, err := st.ReclaimTask(ctx, args[0], c.reason.v)
	if err != nil {
		return err
	}
	if !ok {
		return failf("cannot reclaim %s (not running or unknown id)", args[0])
	}
	a.out("Reclaimed %s", args[0])
	return nil
}

type setModelCmd struct{ provider optString }

func (c *setModelCmd) flags(fs *pflag.FlagSet) {
	fs.Var(&c.provider, "provider", "provider the model belongs to")
}

func (c *setModelCmd) run(ctx context.Context, a *App, args []string) error {
	var model *string
	if len(args) > 1 {
		switch strings.ToLower(args[1]) {
		case "none", "-", "null", "":
		default:
			model = &args[1]
		}
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	ok, err := st.SetModelOverride(ctx, args[0], model, c.provider.v)
	if errors.Is(err, store.ErrInvalid) {
		return usagef("kanban: %s", store.InvalidMessage(err))
	}
	if err != nil {
		return err
	}
	if !ok {
		return failf("no such task: %s", args[0])
	}
	if model != nil {
		label := *model
		if c.provider.v != nil && *c.provider.v != "" {
			label = *c.provider.v + ":" + *model
		}
		a.out("Set model override on %s: %s (applies on next dispatch)", args[0], label)
	} else {
		a.out("Cleared model override on %s (worker uses its profile default)", args[0])
	}
	return nil
}
