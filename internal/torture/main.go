// Command torture runs kanbanshim's stress scenarios against real
// processes, real signals and real boards on disk, then checks every
// board: integrity_check, every acknowledged write present, no task left
// running without a live worker after one dispatcher tick, no lease or
// worker slot leaked, no damage marker. Damage rounds (damage.go) also
// destroy pages of a live board of their own and check that, once it is
// marked, no kanbanshim process writes it until kanban-recover auto
// repairs it.
//
//	go run ./internal/torture -duration 60s [-scenario S] [-mode wal,delete]
//	       [-seed N] [-report figures.json] [-control]
//	       [-bin DIR] [-keep] [-v]
//
// -duration is the whole budget, split over the scenarios and the journal
// modes. The binaries under test (kanban, kanban-migrate, kanban-recover)
// are built once from the module into a temporary directory; this program
// also plays the fake hermes worker and the raw-connection checkpointer,
// under names it hard-links itself to.
//
// With -control the kill-9 scenario runs with a deliberately unsafe
// writer added (WAL: one that deletes -wal and -shm under live
// connections; DELETE: a Python writer that cancels its own POSIX locks
// mid-transaction). Those runs must fail the checks: the exit status is
// 1 when any check failed, 0 only when every check passed.
//
// docs/RELIABILITY.md ("Torture", "Control run") describes the actors,
// the kills, the checks and the figures.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kanbanshim/kanbanshim/lockd"
)

// scenario is one torture workload, run once per journal mode.
type scenario struct {
	name   string
	what   string
	weight int           // share of the budget
	floor  time.Duration // at least this much of it (both modes together), when the budget allows
	run    func(ctx context.Context, c *cellEnv) *cellReport
}

// scenarios run in this order; the first is upstream #31618's workload.
var scenarios = []scenario{
	{name: "dispatch-31618", weight: 1, floor: 20 * time.Second, what: "a ready task every few hundred ms, workers outliving max_runtime_seconds, heartbeats, " +
		"crashes, SIGTERM-ignoring workers with children, manual reclaims and archives, a daemon SIGKILLed and restarted, " +
		"supervisors SIGKILLed, two daemons at once", run: runDispatch31618},
	{name: "kill9", weight: 4, what: "kanban CLI writers, Python sqlite3 writers, a daemon with supervised fake workers, a raw " +
		"checkpointer, kanban-migrate on legacy boards and kanban-recover swaps, all SIGKILLed at random and inside " +
		"transactions; after every round: integrity_check, every acknowledged write, one dispatcher tick, locks and slots; " +
		"damage rounds also zero pages of a live board of their own: it must be marked, written by no kanbanshim process " +
		"from then on, and repaired by kanban-recover auto",
		run: runKill9},
}

var modes = []string{"wal", "delete"}

type options struct {
	duration  time.Duration
	scenarios []string
	modes     []string
	keep      bool
	seed      int64
	verbose   bool
	report    string
	control   bool
	binDir    string
}

func main() {
	switch filepath.Base(os.Args[0]) {
	case "hermes":
		os.Exit(runWorker(os.Args[1:]))
	case roleCheckpointer:
		os.Exit(runCheckpointer(os.Args[1:]))
	case roleUnsafe:
		os.Exit(runUnsafe(os.Args[1:]))
	}
	os.Exit(orchestrate(os.Args[1:]))
}

func parseFlags(args []string) (options, int) {
	fs := flag.NewFlagSet("torture", flag.ContinueOnError)
	var o options
	var only, mode string
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "total budget, split over scenarios and journal modes")
	fs.StringVar(&only, "scenario", "", "run only these scenarios (comma-separated: dispatch-31618, kill9)")
	fs.StringVar(&mode, "mode", "wal,delete", "journal modes to run (comma-separated: wal, delete)")
	fs.BoolVar(&o.keep, "keep", false, "keep the scenario directories")
	fs.Int64Var(&o.seed, "seed", time.Now().UnixNano()%1_000_000_000, "random seed (choices, not timing, are reproducible)")
	fs.BoolVar(&o.verbose, "v", false, "log every action")
	fs.StringVar(&o.report, "report", "", "write the figures as JSON to this file")
	fs.BoolVar(&o.control, "control", false, "add a deliberately unsafe writer: the checks must fail")
	fs.StringVar(&o.binDir, "bin", "", "use kanban, kanban-migrate, kanban-recover from this directory instead of building them")
	if err := fs.Parse(args); err != nil {
		return o, 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "torture: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return o, 2
	}
	if o.duration <= 0 {
		fmt.Fprintln(os.Stderr, "torture: -duration must be > 0")
		return o, 2
	}
	for _, m := range splitList(mode) {
		if !contains(modes, m) {
			fmt.Fprintf(os.Stderr, "torture: unknown -mode %q (wal, delete)\n", m)
			return o, 2
		}
		o.modes = append(o.modes, m)
	}
	for _, s := range splitList(only) {
		if !containsFunc(scenarios, func(sc scenario) bool { return sc.name == s }) {
			fmt.Fprintf(os.Stderr, "torture: unknown -scenario %q\n", s)
			return o, 2
		}
		o.scenarios = append(o.scenarios, s)
	}
	if o.control {
		if len(o.scenarios) > 0 && !contains(o.scenarios, "kill9") {
			fmt.Fprintln(os.Stderr, "torture: -control runs the kill9 scenario")
			return o, 2
		}
		o.scenarios = []string{"kill9"}
	}
	if len(o.modes) == 0 {
		fmt.Fprintln(os.Stderr, "torture: -mode selects nothing")
		return o, 2
	}
	return o, 0
}

func orchestrate(args []string) int {
	o, rc := parseFlags(args)
	if rc != 0 {
		return rc
	}
	ctx, stop := lockd.Drain(context.Background())
	defer stop()
	start := time.Now()
	bins, cleanup, err := prepareBinaries(ctx, o.binDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "torture: %v\n", err)
		return 1
	}
	defer cleanup()
	fmt.Printf("torture: seed %d, budget %v, binaries in %s (ready in %v)\n", o.seed, o.duration, bins.dir, time.Since(start).Round(time.Millisecond))

	var selected []scenario
	for _, sc := range scenarios {
		if len(o.scenarios) == 0 || contains(o.scenarios, sc.name) {
			selected = append(selected, sc)
		}
	}
	rep := &runReport{Seed: o.seed, Budget: o.duration.String(), Control: o.control, Started: start.UTC().Format(time.RFC3339),
		SQLite: sqliteVersions(ctx)}
	runStart := time.Now()
	share := shares(o.duration, selected)
	for i, sc := range selected {
		for j, mode := range o.modes {
			budget := share[i] / time.Duration(len(o.modes))
			env := &cellEnv{o: o, scenario: sc.name, mode: mode, budget: budget, bins: bins,
				seed: o.seed + int64(1000*i+j)}
			fmt.Printf("\n== torture %s, %s journal (%v, seed %d)\n   %s\n", sc.name, strings.ToUpper(mode), budget.Round(time.Millisecond), env.seed, sc.what)
			cellStart := time.Now()
			cr := sc.run(ctx, env)
			cr.Scenario, cr.Mode, cr.Seed = sc.name, mode, env.seed
			cr.Seconds = time.Since(cellStart).Seconds()
			cr.Passed = len(cr.Problems) == 0
			verdict := "PASS"
			if !cr.Passed {
				verdict = "FAIL"
			}
			fmt.Printf("-- %s %s/%s in %v\n", verdict, sc.name, mode, time.Since(cellStart).Round(time.Millisecond))
			for _, p := range cr.Problems {
				fmt.Printf("   ✖ %s\n", p)
			}
			rep.Cells = append(rep.Cells, cr)
			if ctx.Err() != nil {
				break
			}
		}
	}
	rep.Seconds = time.Since(runStart).Seconds()
	rep.total()
	printSummary(rep)
	if o.report != "" {
		data, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(o.report, append(data, '\n'), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "torture: write report: %v\n", err)
			return 1
		}
		fmt.Printf("figures written to %s\n", o.report)
	}
	if ctx.Err() != nil {
		fmt.Println("torture: interrupted")
		return 1
	}
	if o.control {
		if rep.Passed {
			fmt.Println("CONTROL: the unsafe writer went unnoticed — the checks passed, so the harness is blind to this damage")
			return 0
		}
		fmt.Println("CONTROL: the checks failed as they must: the harness sees the unsafe writer's damage")
		return 1
	}
	if !rep.Passed {
		return 1
	}
	return 0
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if strings.TrimSpace(x) == v {
			return true
		}
	}
	return false
}

func containsFunc[T any](list []T, f func(T) bool) bool {
	for _, x := range list {
		if f(x) {
			return true
		}
	}
	return false
}

// shares splits the budget over the selected scenarios by weight, but
// gives a scenario at least its floor when the budget allows: upstream
// #31618's workload gets 20 s even in CI's 60 s run.
func shares(total time.Duration, sel []scenario) []time.Duration {
	out := make([]time.Duration, len(sel))
	all := 0
	for _, sc := range sel {
		all += sc.weight
	}
	rest, weights := total, all
	if len(sel) > 1 {
		for i, sc := range sel {
			if prop := total * time.Duration(sc.weight) / time.Duration(all); sc.floor > prop && sc.floor < total/2 {
				out[i] = sc.floor
				rest -= sc.floor
				weights -= sc.weight
			}
		}
	}
	for i, sc := range sel {
		if out[i] == 0 && weights > 0 {
			out[i] = rest * time.Duration(sc.weight) / time.Duration(weights)
		}
	}
	return out
}
