// Command kanban-recover detects, salvages and replaces damaged kanban
// boards: check, salvage, diff, swap, and auto (all four, for cron or
// when kanban reports a damaged board). See docs/RECOVERY.md.
package main

import (
	"context"
	"os"

	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/recover/cli"
)

func main() {
	ctx, stop := lockd.Drain(context.Background())
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// run is the whole command: arguments in, exit code out.
func run(ctx context.Context, args []string) int {
	app := cli.NewApp()
	return cli.ExitCode(ctx, cli.Run(ctx, app, args), app.Stderr)
}
