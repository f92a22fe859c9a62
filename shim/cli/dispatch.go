package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/clikit"
	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/shim/dispatch"
	"github.com/kanbanshim/kanbanshim/shim/home"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

var (
	dispatchVerb = &verbInfo{name: "dispatch", usage: "dispatch [--dry-run] [--max N] [--failure-limit N] [--max-workers N] [--json]",
		summary: "run one dispatcher pass (reclaim, promote, spawn within the caps)", maxArgs: 0, mutating: true,
		new:     func() command { return &dispatchCmd{} },
		example: "  kanban dispatch --dry-run\n  kanban dispatch --max 2 --json"}
	daemonVerb = &verbInfo{name: "daemon", usage: "daemon [--interval S] [--max N] [--failure-limit N] [--max-workers N] [--pidfile P] [--board SLUG] [-v]",
		summary: "run the dispatcher in a loop (replaces the gateway's embedded one)", maxArgs: 0, mutating: true,
		new:     func() command { return &daemonCmd{} },
		example: "  kanban daemon --interval 10 -v\n  kanban daemon --board research --pidfile /run/kanban-daemon.pid"}
	superviseVerb = &verbInfo{name: "supervise", usage: "supervise --task T --run R [--grace S] -- <worker argv>",
		summary: "run one worker under a slot, with reclaim grace (started by the dispatcher)", maxArgs: -1, mutating: true,
		new:     func() command { return &superviseCmd{} },
		example: "  kanban supervise --task t_9fc1a3 --run 12 -- hermes -p alice --cli --accept-hooks chat -q \"work kanban task t_9fc1a3\""}
)

// dispatchOpts are the flags dispatch and daemon share.
type dispatchOpts struct {
	max, failureLimit, maxWorkers optInt
}

func (o *dispatchOpts) flags(fs *pflag.FlagSet) {
	fs.Var(&o.max, "max", "cap on running workers for this board (overrides kanban.max_spawn)")
	fs.Var(&o.failureLimit, "failure-limit", "consecutive failures before a task is auto-blocked (default: kanban.failure_limit, else 2)")
	fs.Var(&o.maxWorkers, "max-workers", "worker-slot cap for the home (overrides kanban.max_concurrent_workers)")
}

// settings resolves this invocation's dispatcher settings; an unusable
// kanbanshim setting is a usage error.
func (o *dispatchOpts) settings(a *App, interval *float64) (dispatch.Settings, error) {
	s, err := dispatch.ResolveSettings(a.Env.Getenv, a.config, dispatch.Overrides{
		MaxSpawn: o.max.v, FailureLimit: o.failureLimit.v, MaxWorkers: o.maxWorkers.v, Interval: interval})
	if errors.Is(err, dispatch.ErrSetting) {
		return s, usagef("%s: %s", a.Prog, oneLine(err.Error()))
	}
	return s, err
}

type dispatchCmd struct {
	dispatchOpts
	dryRun, json bool
}

func (c *dispatchCmd) flags(fs *pflag.FlagSet) {
	fs.BoolVar(&c.dryRun, "dry-run", false, "show what would be spawned without claiming anything")
	c.dispatchOpts.flags(fs)
	fs.BoolVar(&c.json, "json", false, "JSON output")
}

func (c *dispatchCmd) run(ctx context.Context, a *App, _ []string) error {
	s, err := c.settings(a, nil)
	if err != nil {
		return err
	}
	b := a.dispatchBoard(a.board())
	st, err := a.openForDispatch(ctx, b, s)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := a.honourDamage(st, !c.dryRun); err != nil {
		return err
	}
	res, err := a.dispatcher(nil).Tick(ctx, st, b, s, c.dryRun)
	if err != nil {
		return err
	}
	if res.SkippedLocked {
		a.errLine("%s: dispatch: another dispatcher is ticking this board; nothing done", a.Prog)
	}
	if c.json {
		a.printJSON(res.JSON(), true)
		return nil
	}
	res.WriteText(a.Stdout, c.dryRun, s.DefaultAssignee)
	return nil
}

type daemonCmd struct {
	dispatchOpts
	interval dispatchFloat
	pidfile  string
	board    optString
	verbose  bool
	force    bool
}

func (c *daemonCmd) flags(fs *pflag.FlagSet) {
	fs.Var(&c.interval, "interval", "seconds between ticks (default: kanban.dispatch_interval_seconds, else 60)")
	c.dispatchOpts.flags(fs)
	fs.StringVar(&c.pidfile, "pidfile", "", "write the daemon's pid to this file")
	fs.Var(&c.board, "board", "dispatch only this board (default: every board of the home)")
	fs.BoolVarP(&c.verbose, "verbose", "v", false, "print a line for every tick that did something")
	fs.BoolVar(&c.force, "force", false, "accepted for compatibility with upstream's deprecated daemon")
	_ = fs.MarkHidden("force")
}

func (c *daemonCmd) run(ctx context.Context, a *App, _ []string) error {
	if c.board.v != nil {
		if err := a.pinBoard(*c.board.v); err != nil {
			return err
		}
	}
	s, err := c.settings(a, c.interval.v)
	if err != nil {
		return err
	}
	if _, _, err := a.snapshotSettings(); err != nil {
		return usagef("%s: %s", a.Prog, oneLine(err.Error()))
	}
	root := a.Env.KanbanRoot()
	lock, err := dispatch.HoldSingleton(root)
	var ge *dispatch.GatewayError
	if errors.As(err, &ge) {
		return failf("%s daemon: %s", a.Prog, ge.Error())
	}
	if err != nil {
		return err
	}
	defer lock.Close()
	boards := a.daemonBoards()
	if err := c.writePidfile(a); err != nil {
		return err
	}
	defer c.removePidfile()
	a.errLine("Kanban dispatcher running (interval=%ss, pid=%d, boards: %s, worker cap %d). Ctrl-C to stop.",
		py.FloatRepr(s.Interval.Seconds()), os.Getpid(), boardsLabel(boards()), s.MaxWorkers)
	// The loop stops between ticks on SIGTERM/SIGINT/SIGHUP. main's drain
	// handler turns them into cancellation too; this keeps the daemon
	// systemd-friendly wherever it is embedded.
	sctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer stop()
	dm := &dispatch.Daemon{D: a.dispatcher(boards), Boards: boards, Open: a.openForDispatch, Health: a.healthCheck,
		Verbose: c.verbose, Out: a.Stdout, Err: a.Stderr, Now: a.Now,
		Settings: func() (dispatch.Settings, error) {
			if cfg, err := home.LoadConfig(a.Env); err == nil {
				a.config = cfg
			}
			return c.settings(a, c.interval.v)
		}}
	dm.AfterHealthy = a.snapshotAfterHealthy(dm)
	if err := dm.Run(sctx); err != nil {
		return err
	}
	a.out("(dispatcher stopped)")
	return nil
}

func boardsLabel(bs []dispatch.Board) string {
	names := make([]string, len(bs))
	for i, b := range bs {
		names[i] = b.Slug
	}
	return strings.Join(names, ", ")
}

func (c *daemonCmd) writePidfile(a *App) error {
	if c.pidfile == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(c.pidfile), 0o755); err != nil {
		a.errLine("warning: could not write pidfile %s: %v", c.pidfile, err)
		return nil
	}
	if err := os.WriteFile(c.pidfile, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		a.errLine("warning: could not write pidfile %s: %v", c.pidfile, err)
	}
	return nil
}

func (c *daemonCmd) removePidfile() {
	if c.pidfile != "" {
		_ = os.Remove(c.pidfile)
	}
}

// daemonBoards lists the boards the daemon ticks, re-read every round: the
// pinned board (--board, HERMES_KANBAN_DB), else every non-archived board.
func (a *App) daemonBoards() func() []dispatch.Board {
	if a.boards.Override != "" || a.Env.Getenv("HERMES_KANBAN_DB") != "" {
		b := a.dispatchBoard(a.board())
		return func() []dispatch.Board { return []dispatch.Board{b} }
	}
	return a.allBoards
}

// allBoards is every non-archived board of the home.
func (a *App) allBoards() []dispatch.Board {
	var out []dispatch.Board
	for _, m := range a.boards.List(false) {
		out = append(out, a.dispatchBoard(m.Slug))
	}
	return out
}

// dispatchBoard resolves one board's database and directories.
func (a *App) dispatchBoard(slug string) dispatch.Board {
	db := a.boards.DBPath(slug)
	return dispatch.Board{Slug: slug, DB: db, Fix: board.RepairCommand(db, repairBoard(a.Env, slug)), Paths: store.Paths{
		WorkspacesRoot:  a.boards.WorkspacesRoot(slug),
		AttachmentsRoot: a.boards.AttachmentsRoot(slug),
		LogsDir:         a.boards.LogsDir(slug),
	}}
}

// healthCheck is the daemon's health check of one board: PRAGMA
// quick_check through a read-only store (no write lease, no schema
// work); damage is recorded by the store (marker, forensic copy).
func (a *App) healthCheck(ctx context.Context, b dispatch.Board) error {
	opts := a.storeOptions()
	opts.Board, opts.Paths = repairBoard(a.Env, b.Slug), b.Paths
	opts.QuarantineDir = quarantineDir(a.boards, b.Slug, b.DB)
	st, err := store.OpenRead(ctx, b.DB, opts)
	if err != nil {
		return err
	}
	defer st.Close()
	return st.HealthCheck(ctx)
}

// openForDispatch opens a board whose reclaims stop workers with the
// configured grace.
func (a *App) openForDispatch(ctx context.Context, b dispatch.Board, s dispatch.Settings) (*store.Store, error) {
	opts := a.storeOptions()
	opts.Board, opts.Paths = repairBoard(a.Env, b.Slug), b.Paths
	opts.QuarantineDir = quarantineDir(a.boards, b.Slug, b.DB)
	opts.Terminate = dispatch.Terminator(s.ReclaimGrace)
	st, err := store.Open(ctx, b.DB, opts)
	var ce *store.CorruptError
	if err != nil && !errors.As(err, &ce) && ctx.Err() == nil {
		return nil, fmt.Errorf("could not initialize database: %w", err)
	}
	return st, err
}

// dispatcher builds the dispatcher for this process.
func (a *App) dispatcher(boards func() []dispatch.Board) *dispatch.Dispatcher {
	if boards == nil {
		boards = a.allBoards
	}
	d := &dispatch.Dispatcher{Env: a.Env, Root: a.Env.KanbanRoot(), Environ: os.Environ(), Supervisor: supervisorArgv(),
		Exits: &dispatch.ExitRegistry{}, Boards: boards}
	if a.Env.Getenv("HERMES_KANBAN_DB") != "" {
		d.Boards = nil // a pinned database is the whole world
	}
	d.Log = slog.New(noteHandler{w: a.Stderr, prog: a.Prog})
	return d
}

// supervisorArgv is how to run `kanban supervise`: this executable (with
// the `kanban` word when it is installed as hermes).
func supervisorArgv() []string {
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	if filepath.Base(self) == "hermes" {
		return []string{self, "kanban"}
	}
	return []string{self}
}

type superviseCmd struct {
	task       string
	runID      int64
	grace      dispatchFloat
	maxWorkers optInt
	profile    string
	profileCap int
	logPath    string
	statusFD   int
}

func (c *superviseCmd) flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.task, "task", "", "the claimed task")
	intVar(fs, &c.runID, "run", 0, "the task's current run id")
	fs.Var(&c.grace, "grace", "seconds between SIGTERM and SIGKILL (default: HERMES_KANBAN_RECLAIM_GRACE_SECONDS, kanban.reclaim_grace_seconds, 30)")
	fs.Var(&c.maxWorkers, "max-workers", "global worker-slot cap")
	fs.StringVar(&c.profile, "profile", "", "the worker's profile (default: HERMES_PROFILE)")
	fs.IntVar(&c.profileCap, "profile-cap", 0, "per-profile slot cap (0: none)")
	fs.StringVar(&c.logPath, "log", "", "log file (default: the board's <task>.log)")
	fs.IntVar(&c.statusFD, "status-fd", -1, "descriptor to report the start on")
	_ = fs.MarkHidden("status-fd")
}

func (c *superviseCmd) run(ctx context.Context, a *App, argv []string) error {
	// Signals mean "stop the worker with grace", not "cancel": take them
	// over from main's drain handler, whose second signal would exit at
	// once and orphan the worker's process group.
	signal.Reset(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	status := c.statusPipe()
	sv, err := c.supervisor(a, argv, status)
	if err != nil {
		if status != nil {
			fmt.Fprintf(status, "error %s\n", oneLine(err.Error()))
			status.Close()
		}
		return err
	}
	defer sv.Log.Close()
	sv.Signals = sigs
	code, err := sv.Run(context.WithoutCancel(ctx))
	if err != nil {
		return failf("%s supervise: %s", a.Prog, oneLine(err.Error()))
	}
	if code != 0 {
		return clikit.Exit(code) // the worker's own code, even after a signal
	}
	return nil
}

// statusPipe adopts the dispatcher's report pipe, close-on-exec so the
// worker never inherits it.
func (c *superviseCmd) statusPipe() *os.File {
	if c.statusFD < 3 {
		return nil
	}
	syscall.CloseOnExec(c.statusFD)
	return os.NewFile(uintptr(c.statusFD), "status")
}

func (c *superviseCmd) supervisor(a *App, argv []string, status *os.File) (*dispatch.Supervisor, error) {
	if c.task == "" || c.runID <= 0 {
		return nil, usagef("%s supervise: error: --task and --run are required", a.Prog)
	}
	if len(argv) == 0 {
		return nil, usagef("%s supervise: error: the worker command is required after --", a.Prog)
	}
	if !safeTaskID(c.task) {
		return nil, failf("%s supervise: no such task: %s", a.Prog, c.task)
	}
	if err := c.checkRun(a); err != nil {
		return nil, err
	}
	grace, err := dispatch.ReclaimGrace(a.Env.Getenv, a.config)
	if err != nil {
		return nil, usagef("%s supervise: %s", a.Prog, oneLine(err.Error()))
	}
	if c.grace.v != nil {
		grace = dispatch.Seconds(*c.grace.v)
	}
	s, err := (&dispatchOpts{maxWorkers: c.maxWorkers}).settings(a, nil)
	if err != nil {
		return nil, err
	}
	logFile, err := c.openLog(a)
	if err != nil {
		return nil, err
	}
	sv := &dispatch.Supervisor{Task: c.task, RunID: c.runID, Argv: argv, Env: os.Environ(), Grace: grace,
		Root: a.Env.KanbanRoot(), MaxWorkers: s.MaxWorkers, Profile: c.profileName(a), ProfileCap: c.profileCap,
		Log: logFile, ClaimLock: a.Env.Getenv("HERMES_KANBAN_CLAIM_LOCK"), ClaimTTL: store.ClaimTTL(nil, a.Env.Getenv),
		Store: func(ctx context.Context) (*store.Store, error) { return store.Open(ctx, a.dbPath(), a.storeOptions()) }}
	if status != nil {
		sv.Status = status
	}
	return sv, nil
}

func (c *superviseCmd) profileName(a *App) string {
	if c.profile != "" {
		return home.NormalizeProfile(c.profile)
	}
	return home.NormalizeProfile(a.Env.Getenv("HERMES_PROFILE"))
}

// checkRun refuses to start a worker for a task that is not running under
// this run: a supervisor exists only for a claimed run.
func (c *superviseCmd) checkRun(a *App) error {
	st, err := store.Open(context.Background(), a.dbPath(), a.storeOptions())
	if err != nil {
		return err
	}
	defer st.Close()
	if err := a.honourDamage(st, true); err != nil {
		return err // no worker for a board nothing may be written to
	}
	t, err := st.GetTask(c.task)
	if err != nil {
		return err
	}
	if t == nil {
		return failf("%s supervise: no such task: %s", a.Prog, c.task)
	}
	if t.Status != "running" || t.CurrentRunID == nil || *t.CurrentRunID != c.runID {
		return failf("%s supervise: task %s is %s, not running under run %d", a.Prog, c.task, t.Status, c.runID)
	}
	return nil
}

// openLog opens the task log for appending (the dispatcher rotated it).
func (c *superviseCmd) openLog(a *App) (*os.File, error) {
	p := c.logPath
	if p == "" {
		p = filepath.Join(a.boards.LogsDir(""), c.task+".log")
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, failf("%s supervise: %v", a.Prog, err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, failf("%s supervise: %v", a.Prog, err)
	}
	return f, nil
}

// dispatchFloat is a float flag that remembers whether it was given.
type dispatchFloat struct{ v *float64 }

func (o *dispatchFloat) String() string {
	if o.v == nil {
		return ""
	}
	return strconv.FormatFloat(*o.v, 'f', -1, 64)
}

func (o *dispatchFloat) Set(s string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return fmt.Errorf("invalid float value: %s", pyq(s))
	}
	o.v = &f
	return nil
}

func (o *dispatchFloat) Type() string { return "float" }
