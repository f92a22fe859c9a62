// Package cli is the `kanban` command line: upstream `hermes kanban`'s
// verbs, flags, text and --json output and exit codes, one file per verb
// group, on top of shim/store.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/clikit"
	"github.com/kanbanshim/kanbanshim/internal/host"
	"github.com/kanbanshim/kanbanshim/internal/oneline"
	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/shim/dispatch"
	"github.com/kanbanshim/kanbanshim/shim/home"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// Prog is the command name used in messages.
const Prog = "kanban"

// App is one invocation's environment.
type App struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Env            home.Env
	// Prog is the command name used in messages ("kanban").
	Prog string
	// Hooks are store test hooks (nil in production).
	Hooks *store.Hooks
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Stderr is a terminal: notes meant for people are shown.
	Interactive bool

	boards         *home.Boards
	config         home.Config
	configErr      error
	allowNetworkFS bool
	st             *store.Store
	verb           string
	mutating       bool   // this invocation writes (refused on a board marked damaged)
	damageWarning  string // the marked-board warning, until it is printed
	warnedDamage   bool   // the marked-board warning was printed (or dropped)
}

// NewApp returns an App on the real process environment.
func NewApp() *App {
	return &App{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Env: home.OSEnv(), Prog: Prog, Interactive: isTerminal(os.Stderr)}
}

func (a *App) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// usagef is a usage error (exit 2): the whole stderr line.
func usagef(format string, args ...any) error { return clikit.Usagef(format, args...) }

// failf is a runtime failure (exit 1) with its own whole stderr line.
func failf(format string, args ...any) error { return clikit.Failf(format, args...) }

// errFailedQuietly: per-item failures were already printed (bulk verbs).
var errFailedQuietly = clikit.Exit(1)

// program reports kanban's errors as upstream does: silently after a
// signal, and a damaged board as "could not initialize database".
var program = clikit.Program{Name: Prog, Failure: failure}

// Exit prints err (if any) to stderr and returns the process exit code;
// the only place errors become exit codes. A command cut short by a signal
// exits 128+signal.
func Exit(ctx context.Context, err error, stderr io.Writer) int {
	return program.Exit(ctx, err, stderr)
}

// failure is the message and code of an error no verb turned into its
// own line.
func failure(err error) (int, string) {
	var ce *store.CorruptError
	switch {
	case errors.As(err, &ce):
		return 1, "could not initialize database: " + err.Error()
	case errors.Is(err, store.ErrInvalid):
		return 1, store.InvalidMessage(err)
	}
	return 1, err.Error()
}

// oneLine is the message as one safe line (see internal/oneline): user
// input inside an error cannot add lines or reach the terminal raw.
func oneLine(s string) string { return oneline.Trim(s) }

// Run executes one `kanban …` command line (arguments after the program
// name), following upstream's order of checks.
func Run(ctx context.Context, a *App, args []string) (err error) {
	if a.Prog == "" {
		a.Prog = Prog
	}
	a.boards = home.NewBoards(a.Env)
	a.config, a.configErr = home.LoadConfig(a.Env)
	defer func() {
		if a.st != nil {
			err = errors.Join(err, a.st.Close())
			a.st = nil
		}
		if !store.IsCorrupt(err) { // a corrupt-board failure names the repair itself
			a.flushDamageWarning()
		}
	}()
	g, rest, err := parseGlobal(args)
	if err != nil {
		return err
	}
	if g.version {
		return clikit.PrintVersion(a.Stdout, a.Prog)
	}
	if g.help || len(rest) == 0 {
		fmt.Fprint(a.Stdout, topHelp(a.Prog))
		return nil
	}
	a.allowNetworkFS = g.allowNetworkFS || a.Env.Getenv("HERMES_KANBAN_ALLOW_NETWORK_FS") == "1" || a.config.Bool("allow_network_fs", false)
	action := rest[0]
	v, ok := verbs.Lookup(action)
	if !ok {
		return unsupported(ctx, a, action, args)
	}
	a.verb, a.mutating = v.name, v.mutates(rest[1:])
	if v == completionVerb {
		return runVerb(ctx, a, v, rest[1:]) // needs no home, board or config
	}
	if err := a.Env.CheckDirs(); err != nil {
		return failf("%s: %v", a.Prog, err)
	}
	if err := a.warnConfig(); err != nil {
		return err
	}
	if a.delegatedChild() && v.mutates(rest[1:]) {
		return failf("%s: delegate_task child contexts cannot mutate Kanban tasks via the CLI", a.Prog)
	}
	if v.name == "boards" {
		return runVerb(ctx, a, v, rest[1:])
	}
	if g.board != nil {
		if err := a.pinBoard(*g.board); err != nil {
			return err
		}
	}
	return runVerb(ctx, a, v, rest[1:])
}

// pinBoard validates --board and pins it for this call.
func (a *App) pinBoard(raw string) error {
	slug, err := home.NormalizeSlug(raw)
	if err != nil {
		return usagef("%s: %v", a.Prog, err)
	}
	if slug == "" {
		return usagef("%s: --board requires a slug", a.Prog)
	}
	if slug != home.DefaultBoard && !a.boards.Exists(slug) {
		return failf("%s: board %s does not exist. Create it with `hermes kanban boards create %s`.", a.Prog, py.Repr(slug), slug)
	}
	a.boards.Override = slug
	return nil
}

func (a *App) delegatedChild() bool {
	return strings.TrimSpace(a.Env.Getenv("HERMES_DELEGATED_CHILD_CONTEXT")) != ""
}

// warnConfig reports an unusable config.yaml once, on stderr: upstream
// falls back to defaults, and so do we, but not silently. Invalid values
// of kanbanshim's own keys are usage errors.
func (a *App) warnConfig() error {
	if a.configErr != nil {
		fmt.Fprintf(a.Stderr, "%s: warning: ignoring config: %v\n", a.Prog, oneLine(a.configErr.Error()))
	}
	if err := a.config.Validate(); err != nil {
		return usagef("%s: %s: %s", a.Prog, a.config.Path, oneLine(err.Error()))
	}
	return nil
}

// board is the active board's slug.
func (a *App) board() string { return a.boards.Current() }

// dbPath is the active board's database (HERMES_KANBAN_DB wins).
func (a *App) dbPath() string { return a.boards.DBPath("") }

// storeOptions builds the store configuration for the active board.
func (a *App) storeOptions() store.Options {
	slug := a.board()
	opts := store.Options{
		BusyTimeout:    home.BusyTimeout(a.Env),
		LeaseTimeout:   home.LeaseTimeout(a.Env, a.config),
		JournalMode:    a.config.JournalMode,
		AllowNetworkFS: a.allowNetworkFS,
		QuarantineDir:  quarantineDir(a.boards, slug, a.dbPath()),
		Board:          repairBoard(a.Env, slug),
		ReadOnly:       a.delegatedChild(),
		ReadVerb:       !a.mutating,
		Now:            a.Now,
		Hooks:          a.Hooks,
		Paths: store.Paths{
			WorkspacesRoot:  a.boards.WorkspacesRoot(slug),
			AttachmentsRoot: a.boards.AttachmentsRoot(slug),
			LogsDir:         a.boards.LogsDir(slug),
		},
	}
	opts.Logger = slog.New(noteHandler{w: a.Stderr, prog: a.Prog, notes: a.Interactive})
	if v, ok := a.peerOverride(); ok {
		opts.PeerSQLite = func(context.Context) host.PeerInfo { return v }
	}
	if g, err := dispatch.ReclaimGrace(a.Env.Getenv, a.config); err == nil {
		opts.Terminate = dispatch.Terminator(g)
	}
	if testHooks != nil {
		testHooks(a.Env.Getenv, a.Stderr, &opts)
	}
	return opts
}

// open opens the active board (auto-init, like upstream's init_db on
// every call). Failures read "could not initialize database".
func (a *App) open(ctx context.Context) (*store.Store, error) {
	if a.st != nil {
		return a.st, nil
	}
	st, err := store.Open(ctx, a.dbPath(), a.storeOptions())
	if err != nil {
		var ce *store.CorruptError
		var be *lockd.BusyError
		var ne *store.NetworkFSError
		switch {
		case errors.As(err, &ce), errors.As(err, &be), errors.As(err, &ne), errors.Is(err, board.ErrDamaged):
			return nil, err
		case ctx.Err() != nil:
			return nil, context.Cause(ctx)
		}
		return nil, failf("%s: could not initialize database: %s", a.Prog, oneLine(err.Error()))
	}
	if err := a.honourDamage(st, a.mutating); err != nil {
		st.Close()
		return nil, err
	}
	a.st = st
	return st, nil
}

// honourDamage applies the board's damage marker: a command that writes
// fails with one line naming the repair (*board.DamagedError, exit 1)
// before it changes anything; one that reads goes on after one warning
// line on stderr (never on stdout: --json output stays as it is).
func (a *App) honourDamage(st *store.Store, writes bool) error {
	d := st.Damaged()
	if d == nil {
		return nil
	}
	e := &board.DamagedError{Path: st.Path(), Damage: *d, Fix: a.recoverCommand()}
	if writes {
		return e
	}
	if !a.warnedDamage {
		a.damageWarning = a.Prog + ": " + e.Warning()
	}
	return nil
}

// flushDamageWarning prints the marked-board warning, once. Run prints it
// when the command ends (unless it failed on the corrupt board, whose
// message already names the repair); verbs that run until stopped print
// it as they start.
func (a *App) flushDamageWarning() {
	if a.damageWarning != "" && !a.warnedDamage {
		a.errLine("%s", a.damageWarning)
	}
	a.damageWarning, a.warnedDamage = "", true
}

// out writes a line to stdout.
func (a *App) out(format string, args ...any) { fmt.Fprintf(a.Stdout, format+"\n", args...) }

// errLine writes a line to stderr.
func (a *App) errLine(format string, args ...any) {
	fmt.Fprintln(a.Stderr, oneline.Clean(fmt.Sprintf(format, args...)))
}

// runVerb parses a verb's flags and runs it.
func runVerb(ctx context.Context, a *App, v *verbInfo, args []string) error {
	cmd := v.new()
	fs := clikit.NewFlagSet(a.Prog + " " + v.name)
	fs.SortFlags = false
	var help bool
	fs.BoolVarP(&help, "help", "h", false, "show this help")
	cmd.flags(fs)
	args = expandNargs(args, v.nargs)
	if err := fs.Parse(args); err != nil {
		return usagef("%s %s: error: %s (see `%s %s --help`)", a.Prog, v.name, oneLine(err.Error()), a.Prog, v.name)
	}
	if help {
		fmt.Fprint(a.Stdout, verbHelp(a.Prog, v, fs))
		return nil
	}
	pos := fs.Args()
	if len(pos) < len(v.required) {
		return usagef("%s %s: error: the following arguments are required: %s", a.Prog, v.name, strings.Join(v.required[len(pos):], ", "))
	}
	if v.maxArgs >= 0 && len(pos) > v.maxArgs {
		return usagef("%s %s: error: unrecognized arguments: %s", a.Prog, v.name, strings.Join(pos[v.maxArgs:], " "))
	}
	return cmd.run(ctx, a, pos)
}

// noteHandler prints store messages as "kanban: …" lines: warnings
// always, informational notes only for a person at a terminal (scripts
// and transcripts stay byte-compatible with upstream).
type noteHandler struct {
	w     io.Writer
	prog  string
	notes bool
}

func (h noteHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || h.notes
}
func (h noteHandler) Handle(_ context.Context, r slog.Record) error {
	_, err := fmt.Fprintf(h.w, "%s: %s\n", h.prog, r.Message)
	return err
}
func (h noteHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h noteHandler) WithGroup(string) slog.Handler      { return h }

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// peerOverride reads KANBANSHIM_PEER_SQLITE (host.PeerFromEnv): the
// SQLite version the local hermes Python links, for operators whose
// hermes runs elsewhere (a container), and for tests.
func (a *App) peerOverride() (host.PeerInfo, bool) { return host.PeerFromEnv(a.Env.Getenv) }

// repairBoard is the --board the corrupt-board message names: none when
// HERMES_KANBAN_DB pins a file (then it says --db <path>), since
// `kanban-recover --board <slug>` would look at the board's own file.
func repairBoard(env home.Env, slug string) string {
	if strings.TrimSpace(env.Getenv("HERMES_KANBAN_DB")) != "" {
		return ""
	}
	return slug
}
