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
	code := run(ctx, os.Args)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, argv []string) int {
	app := cli.NewApp()
	var err error
	if filepath.Base(argv[0]) == "hermes" {
		err = cli.HermesMain(ctx, app, argv[1:])
	} else {
		err = cli.Run(ctx, app, argv[1:])
	}
	return cli.Exit(ctx, err, app.Stderr, app.Prog)
}
