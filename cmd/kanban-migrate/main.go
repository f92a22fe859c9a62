// Command kanban-migrate brings old kanban boards to the current schema:
// status, plan and apply (backup, one verified transaction, optional
// journal-mode change). See docs/MIGRATION.md.
package main

import (
	"context"
	"os"

	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/migrate/cli"
)

func main() {
	ctx, stop := lockd.Drain(context.Background())
	code := cli.Exit(ctx, run(ctx, os.Args[1:]), os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command: arguments in, outcome out.
func run(ctx context.Context, args []string) error {
	return cli.Run(ctx, cli.NewApp(), args)
}
