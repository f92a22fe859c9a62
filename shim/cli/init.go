package cli

import (
	"context"

	"github.com/spf13/pflag"
)

var (
	initVerb = &verbInfo{name: "init", usage: "init", summary: "create the board database (optional: any command does it)",
		maxArgs: 0, mutating: true, new: func() command { return &initCmd{} },
		example: "  kanban init\n  HERMES_HOME=/srv/hermes kanban init"}
)

type initCmd struct{}

func (c *initCmd) flags(*pflag.FlagSet) {}

func (c *initCmd) run(ctx context.Context, a *App, _ []string) error {
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	a.out("Kanban DB initialized at %s", st.Path())
	a.out("")
	if profiles := a.Env.ProfilesOnDisk(); len(profiles) > 0 {
		a.out("Discovered %d profile(s) on disk; any of these can be an --assignee:", len(profiles))
		for _, p := range profiles {
			a.out("  %s", p)
		}
	} else {
		a.out("No profiles found under ~/.hermes/profiles/.\nCreate one with `hermes -p <name> setup` before assigning tasks.")
	}
	a.out("\nNext step: start the gateway so ready tasks actually get picked up.\n" +
		"  hermes gateway start\n\n" +
		"The gateway hosts an embedded dispatcher that ticks every 60 seconds\n" +
		"by default (config: kanban.dispatch_interval_seconds). Without a\n" +
		"running gateway, tasks stay in 'ready' forever.")
	return nil
}
