// Package cli is kanban-recover's command line: board selection, the
// check, salvage, diff, swap, auto and snapshot verbs with their text and --json
// output, and the mapping of outcomes to exit codes. The work itself is
// package recover.
//
// Exit codes: check 0 healthy, 3 damaged, 1 could not check; auto 0
// healthy or repaired, 1 failed (board untouched), 4 another maintenance
// holds the board; snapshot 0 taken, 3 board damaged (nothing written), 1
// failed or skipped for lack of space; salvage, diff and swap 0 ok, 1
// failed (swap: 4 when another maintenance holds the board); 2 usage
// everywhere; 128+n after a signal.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/internal/clikit"
	"github.com/kanbanshim/kanbanshim/internal/oneline"
	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/recover"
	"github.com/kanbanshim/kanbanshim/shim/home"
)

// Prog is the command name used in messages.
const Prog = "kanban-recover"

// Exit codes beyond 0, 1 and 2.
const (
	ExitDamaged     = 3 // check, snapshot: the board is damaged
	ExitMaintenance = 4 // another kanban-recover or kanban-migrate holds the board
)

const usageLine = "usage: kanban-recover [--board SLUG | --db PATH | --all] {check,salvage,diff,swap,auto,snapshot} [--json] ..."

const helpText = usageLine + `

Detect, salvage and replace damaged kanban boards. check, salvage and diff
only ever read copies of the board; swap and auto change it only under
the board's write lease, and never while another process has it open.

verbs:
  check [--full]           check a copy: header, -wal, -shm, quick_check (integrity_check
                           with --full), schema, board invariants
                           (exit 0 healthy or empty, 3 damaged, 1 could not check)
  salvage --out NEW.db     read every row that can be read into a fresh board at NEW.db,
                           then restore the rows it could not read from the newest
                           verified snapshot (--no-snapshot: none; --snapshot PATH: that
                           one) (progress on stderr when it is a terminal)
  diff OLD NEW             per table: rows only in OLD, only in NEW, changed, same
  diff --snapshot [PATH]   the board against its newest snapshot (or PATH): what
                           changed since the last good copy
  swap NEW [--force]       verify NEW and put it in place of the board; the original
                           db, -wal and -shm go to <board dir>/quarantine/<time>-<hash>/
                           (--force: even while other processes have the board open)
  auto [--quick] [--fresh] check (integrity_check; --quick: quick_check); if the file is
                           damaged: REINDEX in place for index-only damage, else salvage
                           (restoring from a snapshot as salvage does), verify, diff and
                           swap; then check again. --fresh: when nothing can be salvaged
                           (not a SQLite file), quarantine it and swap in a fresh, empty
                           board
                           (exit 0 healthy, empty or repaired, 1 failed, 4 another
                           maintenance holds the board)
  snapshot                 copy a healthy board (one read transaction, no write lease),
                           verify the copy with integrity_check, keep it in
                           <board dir>/snapshots/; keep the newest kanban.snapshot_keep (3)
                           (exit 0 taken, 3 board damaged: nothing written, 1 failed or
                           skipped: less than twice the board's size would stay free)

board selection (default: the active board; HERMES_KANBAN_DB wins):
  --board SLUG   a named board
  --db PATH      a database file
  --all          every board of the home (check, auto, snapshot)

Every verb takes --json. --version prints the version, commit and linked
SQLite. See docs/RECOVERY.md.
`

// App is one invocation's environment.
type App struct {
	Env    home.Env
	Stdout io.Writer
	Stderr io.Writer
	Now    func() time.Time
	// StderrTTY turns on salvage progress lines on Stderr.
	StderrTTY bool
}

// NewApp returns an App on the process environment and standard streams.
func NewApp() *App {
	return &App{Env: home.OSEnv(), Stdout: os.Stdout, Stderr: os.Stderr, Now: time.Now, StderrTTY: isTerminal(os.Stderr)}
}

// program reports kanban-recover's errors (see Exit).
var program = clikit.Program{Name: Prog, OneLine: oneLine, UsageHint: true, SayInterrupted: true, Failure: failure}

// Exit reports err on stderr and returns the exit code: 0 ok, 2 usage,
// 128+n after a drained signal, the carried code of a failure already
// reported, 4 when another maintenance holds the board, else 1.
func Exit(ctx context.Context, err error, stderr io.Writer) int {
	return program.Exit(ctx, err, stderr)
}

func failure(err error) (int, string) { return codeFor(err), err.Error() }

// result is one board's outcome: its --json object and its exit code when
// there was no error (0, or 3 for a damaged board).
type result struct {
	obj  any
	code int
}

// verb is one kanban-recover action.
type verb interface {
	flags(fs *pflag.FlagSet)
	// args validates the positional arguments.
	args(args []string) error
	// run acts on one board (the zero target for verbs that take no
	// board); text output is written as it goes.
	run(ctx context.Context, a *App, t target) (result, error)
	jsonOut() bool
	setJSON()
}

// verbInfo describes a verb to Run.
type verbInfo struct {
	name  string
	new   func() verb
	board bool // acts on the selected board
	all   bool // accepts --all
}

func (v *verbInfo) Name() string      { return v.name }
func (v *verbInfo) Aliases() []string { return nil }

// verbs in help order.
var verbs = clikit.Table[*verbInfo]{
	{name: "check", new: func() verb { return &checkVerb{} }, board: true, all: true},
	{name: "salvage", new: func() verb { return &salvageVerb{} }, board: true},
	{name: "diff", new: func() verb { return &diffVerb{} }},
	{name: "swap", new: func() verb { return &swapVerb{} }, board: true},
	{name: "auto", new: func() verb { return &autoVerb{} }, board: true, all: true},
	{name: "snapshot", new: func() verb { return &snapshotVerb{} }, board: true, all: true},
}

// jsonFlag is the --json every verb has.
type jsonFlag struct{ json bool }

func (j *jsonFlag) register(fs *pflag.FlagSet) {
	fs.BoolVar(&j.json, "json", false, "print the result as JSON on stdout")
}

func (j *jsonFlag) jsonOut() bool { return j.json }

func (j *jsonFlag) setJSON() { j.json = true }

// Run parses args (without the program name) and runs the verb on every
// selected board.
func Run(ctx context.Context, a *App, args []string) error {
	sel := &selector{}
	var asJSON bool
	var v verb
	line, err := clikit.ParseLine(Prog, verbs, args, func(fs *pflag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print the result as JSON on stdout")
		sel.register(fs)
	}, func(info *verbInfo, fs *pflag.FlagSet) {
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
	if asJSON {
		v.setJSON()
	}
	if err := v.args(line.Args); err != nil {
		return clikit.Usagef("%s: %v", line.Name, err)
	}
	if sel.All && !line.Verb.all {
		return clikit.Usagef("%s: --all works with check, auto and snapshot only", line.Name)
	}
	if o, ok := v.(interface{ oneBoard() string }); ok && sel.All && o.oneBoard() != "" {
		return clikit.Usagef("%s: %s names one board's snapshot; it does not go with --all", line.Name, o.oneBoard())
	}
	targets := []target{{}}
	if wb, ok := v.(interface{ wantsBoard() bool }); line.Verb.board || ok && wb.wantsBoard() {
		if targets, err = sel.resolve(a.Env); err != nil {
			return err
		}
	} else if sel.Board != "" || sel.DB != "" {
		return clikit.Usagef("%s: takes no board (--board, --db) unless --snapshot; name both files", line.Name)
	}
	return runAll(ctx, a, v, targets, sel.All, v.jsonOut())
}

// runAll runs v on each target. Every board is attempted; failures are
// reported on stderr as they happen. --json prints the object (an array
// with --all). The exit code is the worst: 1, then 4, then 3, then 0.
func runAll(ctx context.Context, a *App, v verb, targets []target, all, asJSON bool) error {
	var objs []any
	worst := 0
	for _, t := range targets {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		res, err := v.run(ctx, a, t)
		if res.obj != nil {
			objs = append(objs, res.obj)
		}
		code := res.code
		if err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			code = codeFor(err)
			prefix := Prog + ": "
			if all {
				prefix += "board " + t.Label() + ": "
			}
			fmt.Fprintf(a.Stderr, "%s%s\n", prefix, oneLine(err.Error()))
		}
		worst = worse(worst, code)
	}
	if asJSON {
		clikit.PrintResults(a.Stdout, objs, all)
	}
	if worst != 0 {
		if code, ok := clikit.Interrupted(ctx); ok {
			return clikit.Exit(code) // the signal cut the run short
		}
		return clikit.Exit(worst)
	}
	return nil
}

// worse orders exit codes by severity: 1 (failed), 4 (held by another
// maintenance), 3 (damaged), 0.
func worse(a, b int) int {
	rank := func(c int) int {
		switch c {
		case 0:
			return 0
		case ExitDamaged:
			return 1
		case ExitMaintenance:
			return 2
		}
		return 3
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// codeFor maps a failure to its exit code: 4 when another maintenance
// holds the board, 3 when snapshot refused a damaged board, else 1.
func codeFor(err error) int {
	var de *recover.DamagedError
	switch {
	case errors.Is(err, lockd.ErrMaintenance):
		return ExitMaintenance
	case errors.As(err, &de):
		return ExitDamaged
	}
	return 1
}

// out prints one line on stdout.
func (a *App) out(format string, args ...any) { fmt.Fprintf(a.Stdout, format+"\n", args...) }

// oneLine is the message as one safe line (see internal/oneline).
func oneLine(s string) string { return oneline.Fold(s) }
