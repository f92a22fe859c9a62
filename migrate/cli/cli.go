// Package cli is kanban-migrate's command line: board selection, the
// status, plan and apply verbs, their text and --json output, and the
// mapping of errors to exit codes (0 done or nothing to do, 1 failed with
// the board untouched, 2 usage). The migration itself is package migrate.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kanbanshim/kanbanshim/internal/oneline"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/lockd"
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
See docs/MIGRATION.md.
`

// App is one invocation's environment.
type App struct {
	Env    home.Env
	Stdout io.Writer
	Stderr io.Writer
	// Now is the clock (synthesized runs, backup names).
	Now func() time.Time
}

// NewApp returns an App on the process environment and standard streams.
func NewApp() *App {
	return &App{Env: home.OSEnv(), Stdout: os.Stdout, Stderr: os.Stderr, Now: time.Now}
}

// UsageError is a command line that cannot be run; it exits 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// errReported is a failure whose message is already on stderr.
var errReported = errors.New("failed")

// verb is one kanban-migrate action.
type verb interface {
	flags(fs *pflag.FlagSet)
	// run acts on one board and returns its --json object; the text
	// output is written as it goes.
	run(ctx context.Context, a *App, t target) (any, error)
	jsonOut() bool
}

var verbs = map[string]func() verb{
	"status": func() verb { return &statusVerb{} },
	"plan":   func() verb { return &planVerb{} },
	"apply":  func() verb { return &applyVerb{} },
}

// Run parses args (without the program name) and runs the verb on every
// selected board.
func Run(ctx context.Context, a *App, args []string) error {
	sel := &selector{}
	global := pflag.NewFlagSet(Prog, pflag.ContinueOnError)
	global.SetInterspersed(false)
	global.SetOutput(io.Discard)
	help := global.BoolP("help", "h", false, "show help")
	sel.register(global)
	if err := global.Parse(args); err != nil {
		return usagef("%v", err)
	}
	rest := global.Args()
	if *help || (len(rest) > 0 && rest[0] == "help") {
		fmt.Fprint(a.Stdout, helpText)
		return nil
	}
	if len(rest) == 0 {
		return usagef("a verb is required (status, plan or apply)")
	}
	mk, ok := verbs[rest[0]]
	if !ok {
		return usagef("unknown verb '%s' (choose status, plan or apply)", rest[0])
	}
	v := mk()
	fs := pflag.NewFlagSet(Prog+" "+rest[0], pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	vhelp := fs.BoolP("help", "h", false, "show help")
	sel.register(fs)
	v.flags(fs)
	if err := fs.Parse(rest[1:]); err != nil {
		return usagef("%s: %v", rest[0], err)
	}
	if *vhelp {
		fmt.Fprint(a.Stdout, helpText)
		return nil
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument '%s'", rest[0], fs.Arg(0))
	}
	if c, ok := v.(interface{ check() error }); ok {
		if err := c.check(); err != nil {
			return usagef("%s: %v", rest[0], err)
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
		obj, err := v.run(ctx, a, t)
		if obj != nil {
			objs = append(objs, obj)
		}
		if err == nil {
			continue
		}
		if !all || ctx.Err() != nil {
			if v.jsonOut() && obj != nil {
				a.printJSON(obj)
			}
			return err
		}
		failed = true
		fmt.Fprintf(a.Stderr, "%s: board %s: %s\n", Prog, t.Label(), oneLine(err.Error()))
	}
	if v.jsonOut() {
		if all {
			if objs == nil {
				objs = []any{}
			}
			a.printJSON(objs)
		} else if len(objs) == 1 {
			a.printJSON(objs[0])
		}
	}
	if failed {
		return errReported
	}
	return nil
}

// printJSON writes v indented, without HTML escaping.
func (a *App) printJSON(v any) {
	enc := json.NewEncoder(a.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// ExitCode reports err on stderr and returns the exit code: 0 ok, 2 usage,
// 128+n after a drained signal, 1 for every other failure.
func ExitCode(ctx context.Context, err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ue *UsageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s: %s (see %s --help)\n", Prog, oneLine(ue.Msg), Prog)
		return 2
	case errors.Is(err, errReported):
		return 1
	}
	fmt.Fprintf(stderr, "%s: %s\n", Prog, oneLine(err.Error()))
	if code, ok := lockd.SignalExitCode(ctx); ok {
		return code
	}
	return 1
}

// oneLine is the message as one safe line (see internal/oneline).
func oneLine(s string) string { return oneline.Trim(strings.Join(strings.Fields(s), " ")) }
