// Command torture runs kanbanshim's stress scenarios against real
// processes, real signals and a real board, then checks the board:
// integrity_check, bookkeeping invariants, no lost rows, no task stuck
// running without a live worker.
//
//	go run ./internal/torture -duration 20s
//
// The binary plays every part: run as "kanban" it is the CLI, as "hermes"
// a fake worker; the orchestrator hard-links itself under those names.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/shim/cli"
)

// scenario is one torture run; it returns the failed checks.
type scenario struct {
	name string
	what string
	run  func(ctx context.Context, o options) ([]string, error)
}

// scenarios run in this order; the first is upstream #31618's workload.
var scenarios = []scenario{
	{name: "dispatch-31618", what: "a ready task every few hundred ms, workers outliving max_runtime_seconds, heartbeats, " +
		"crashes, SIGTERM-ignoring workers with children, manual reclaims and archives, a daemon SIGKILLed and restarted, " +
		"supervisors SIGKILLed, two daemons at once", run: runDispatch31618},
}

type options struct {
	duration time.Duration
	keep     bool
	seed     int64
	verbose  bool
}

func main() {
	switch filepath.Base(os.Args[0]) {
	case "kanban":
		os.Exit(runKanban())
	case "hermes":
		os.Exit(runWorker(os.Args[1:]))
	}
	os.Exit(orchestrate(os.Args[1:]))
}

func runKanban() int {
	ctx, stop := lockd.Drain(context.Background())
	defer stop()
	app := cli.NewApp()
	return cli.Exit(ctx, cli.Run(ctx, app, os.Args[1:]), app.Stderr, app.Prog)
}

func orchestrate(args []string) int {
	fs := flag.NewFlagSet("torture", flag.ContinueOnError)
	var o options
	var only string
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "how long each scenario produces work")
	fs.StringVar(&only, "scenario", "", "run only these scenarios (comma-separated)")
	fs.BoolVar(&o.keep, "keep", false, "keep the scenario directories")
	fs.Int64Var(&o.seed, "seed", time.Now().UnixNano(), "random seed")
	fs.BoolVar(&o.verbose, "v", false, "log every action")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.duration <= 0 {
		fmt.Fprintln(os.Stderr, "torture: -duration must be > 0")
		return 2
	}
	ctx, stop := lockd.Drain(context.Background())
	defer stop()
	failed := 0
	for _, sc := range scenarios {
		if only != "" && !contains(strings.Split(only, ","), sc.name) {
			continue
		}
		fmt.Printf("== torture %s (%v, seed %d)\n   %s\n", sc.name, o.duration, o.seed, sc.what)
		start := time.Now()
		problems, err := sc.run(ctx, o)
		if err != nil {
			problems = append(problems, err.Error())
		}
		verdict := "PASS"
		if len(problems) > 0 {
			verdict, failed = "FAIL", failed+1
		}
		fmt.Printf("-- %s %s in %v\n", verdict, sc.name, time.Since(start).Round(time.Millisecond))
		for _, p := range problems {
			fmt.Printf("   ✖ %s\n", p)
		}
	}
	if failed > 0 {
		return 1
	}
	return 0
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if strings.TrimSpace(x) == v {
			return true
		}
	}
	return false
}
