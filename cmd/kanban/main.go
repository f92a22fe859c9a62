// Command kanban is a drop-in for `hermes kanban`; installed as `hermes`
// it handles `hermes [-p NAME] kanban …` and execs the real hermes for
// everything else.
package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/shim/cli"
)

func main() {
	ctx, stop := lockd.Drain(context.Background())
	code := cli.Exit(ctx, run(ctx, os.Args[1:]), os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole command: arguments in, outcome out. Invoked as
// `hermes` (a symlink), it serves `hermes [-p NAME] kanban …`.
func run(ctx context.Context, args []string) error {
	if filepath.Base(os.Args[0]) == "hermes" {
		return cli.HermesMain(ctx, cli.NewApp(), args)
	}
	return cli.Run(ctx, cli.NewApp(), args)
}
