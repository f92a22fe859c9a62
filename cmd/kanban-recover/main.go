// Command kanban-recover detects, salvages and replaces damaged kanban
// boards: check, salvage, diff, swap, auto (all four, for cron or when
// kanban reports a damaged board) and snapshot (verified copies repair
// restores from). See docs/RECOVERY.md.
package main

import (
	"context"
	"os"

	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/recover/cli"
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
