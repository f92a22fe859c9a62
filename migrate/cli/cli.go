// Package cli is kanban-migrate's command line: board selection, the
// status, plan and apply verbs, their text and --json output, and the
// mapping of errors to exit codes (0 done or nothing to do, 1 failed with
// the board untouched, 2 usage). The migration itself is package migrate.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/clikit"
	"github.com/kanbanshim/kanbanshim/internal/oneline"
	"github.com/kanbanshim/kanbanshim/shim/home"
)

// Prog is the command name used in messages.
const Prog = "kanban-migrate"

const usageLine = "usage: kanban-migrate [--board SLUG | --db PATH | --all] {status,plan,apply} [--json]"

const helpText = usageLine + `

Bring old kanban boards (the early-May-2026 schema and everything since)
to the current upstream schema, safely.

verbs:
  status   schema generation, pending steps, journal mode, foreign columns, drifted tables
  plan     the exact statements apply would run, in order
  apply    back up, migrate in one verified transaction, optionally change the journal mode
           [--journal keep|wal|delete] [--no-backup] [--force]

board selection (default: the active board; HERMES_KANBAN_DB wins):
  --board SLUG   a named board
  --db PATH      a database file
  --all          every board under the kanban root

exit codes: 0 done or nothing to do, 1 failed (board untouched), 2 usage.
--version prints the version, commit and linked SQLite. See docs/MIGRATION.md.
`

// App is one invocation's environment.
type App struct {
	Env    home.Env
	Stdout io.Writer
	Stderr io.Writer
	// Now is the clock (synthesized runs, backup names).
	Now func() time.Time

	over *Overrides // the test hooks' (see overrides)
}

// NewApp returns an App on the process environment and standard streams.
func NewApp() *App {
	return &App{Env: home.OSEnv(), Stdout: os.Stdout, Stderr: os.Stderr, Now: time.Now}
}

// program reports kanban-migrate's errors (see Exit).
var program = clikit.Program{Name: Prog, OneLine: oneLine, UsageHint: true, SayInterrupted: true}

// Exit reports err on stderr and returns the exit code: 0 ok, 2 usage,
// 128+n after a drained signal, 1 for every other failure.
func Exit(ctx context.Context, err error, stderr io.Writer) int {
	return program.Exit(ctx, err, stderr)
}

// verb is one kanban-migrate action.
type verb interface {
	flags(fs *pflag.FlagSet)
	// run acts on one board and returns its --json object; the text
	// output is written as it goes.
	run(ctx context.Context, a *App, t target) (any, error)
	jsonOut() bool
}

// verbInfo names a verb and makes it.
type verbInfo struct {
	name string
	new  func() verb
}

func (v *verbInfo) Name() string      { return v.name }
func (v *verbInfo) Aliases() []string { return nil }

// verbs in help order.
var verbs = clikit.Table[*verbInfo]{
	{name: "status", new: func() verb { return &statusVerb{} }},
	{name: "plan", new: func() verb { return &planVerb{} }},
	{name: "apply", new: func() verb { return &applyVerb{} }},
}

// Run parses args (without the program name) and runs the verb on every
// selected board.
func Run(ctx context.Context, a *App, args []string) error {
	sel := &selector{}
	var v verb
	line, err := clikit.ParseLine(Prog, verbs, args, sel.register, func(info *verbInfo, fs *pflag.FlagSet) {
		v = info.new()
		sel.register(fs)
		v.flags(fs)
	})
	if err != nil {
		return err
	}
	if done, err := line.Answer(a.Stdout, Prog, helpText); done {
		return err
	}
	if len(line.Args) > 0 {
		return clikit.Usagef("%s: unexpected argument '%s'", line.Name, line.Args[0])
	}
	if c, ok := v.(interface{ check() error }); ok {
		if err := c.check(); err != nil {
			return clikit.Usagef("%s: %v", line.Name, err)
		}
	}
	targets, err := sel.resolve(a.Env)
	if err != nil {
		return err
	}
	return runAll(ctx, a, v, targets, sel.All)
}

// runAll runs v on each target. With --all every board is attempted and
// the run fails if any failed; --json then prints one array.
func runAll(ctx context.Context, a *App, v verb, targets []target, all bool) error {
	var objs []any
	failed := false
	for _, t := range targets {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		if w, ok := v.(interface{ writes() bool }); !t.Missing && (!ok || !w.writes()) {
			warnDamaged(a, t)
		}
		obj, err := v.run(ctx, a, t)
		if obj != nil {
			objs = append(objs, obj)
		}
		if err == nil {
			continue
		}
		if !all || ctx.Err() != nil {
			if v.jsonOut() && obj != nil {
				clikit.PrintJSON(a.Stdout, obj)
			}
			return err
		}
		failed = true
		fmt.Fprintf(a.Stderr, "%s: board %s: %s\n", Prog, t.Label(), oneLine(err.Error()))
	}
	if v.jsonOut() {
		clikit.PrintResults(a.Stdout, objs, all)
	}
	if failed {
		return clikit.Exit(1)
	}
	return nil
}

// warnDamaged prints one warning line on stderr when the board is marked
// damaged: status and plan only read it, and go on.
func warnDamaged(a *App, t target) {
	var de *board.DamagedError
	if errors.As(board.Refuse(t.DB, t.Slug), &de) {
		fmt.Fprintf(a.Stderr, "%s: %s\n", Prog, oneLine(de.Warning()))
	}
}

// oneLine is the message as one safe line (see internal/oneline).
func oneLine(s string) string { return oneline.Fold(s) }
