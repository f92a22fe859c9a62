package cli

import (
	"context"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/shim/dispatch"
)

var (
	contextVerb = &verbInfo{name: "context", usage: "context <task_id>", summary: "print the context a worker sees for a task",
		required: []string{"task_id"}, maxArgs: 1, new: func() command { return &contextCmd{} },
		example: "  kanban context $HERMES_KANBAN_TASK"}
)

type contextCmd struct{}

func (c *contextCmd) flags(*pflag.FlagSet) {}

func (c *contextCmd) run(ctx context.Context, a *App, args []string) error {
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	text, err := dispatch.BuildWorkerContext(st, args[0], dispatch.ContextOptions{Now: a.now(), TerminalTimeout: a.Env.Getenv("TERMINAL_TIMEOUT")})
	if err != nil {
		return err
	}
	// The text ends in a newline and upstream print()s it: one blank line
	// closes the output.
	a.out("%s", text)
	return nil
}
