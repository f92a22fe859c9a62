package dispatch

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/proc"
	"github.com/kanbanshim/kanbanshim/shim/home"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// terminalTimeoutGrace is upstream's KANBAN_TERMINAL_TIMEOUT_GRACE_SECONDS.
const terminalTimeoutGrace = 30

// handshakeTimeout bounds the wait for a supervisor to report whether it
// got a slot and started the worker.
const handshakeTimeout = 15 * time.Second

// errHermesNotFound is upstream's message when the worker binary is missing.
var errHermesNotFound = errors.New("`hermes` executable not found on PATH. Install Hermes Agent or activate its venv before running the kanban dispatcher.")

// ResolveHermes is upstream's _resolve_hermes_argv without the Python
// module fallback (kanbanshim has no interpreter of its own): HERMES_BIN
// (a path is made absolute, a bare name is looked up on PATH, never in
// the current directory), else `hermes` on PATH.
func ResolveHermes(getenv func(string) string, env home.Env) ([]string, error) {
	bin := strings.TrimSpace(getenv("HERMES_BIN"))
	if bin == "" {
		bin = "hermes"
	} else if looksLikePath(bin) {
		p := env.ExpandUser(bin)
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		if !isExecutable(p) {
			return nil, errHermesNotFound
		}
		return []string{p}, nil
	}
	if p := lookPath(getenv("PATH"), bin); p != "" {
		return []string{p}, nil
	}
	return nil, errHermesNotFound
}

func looksLikePath(v string) bool {
	return strings.HasPrefix(v, "~") || filepath.IsAbs(v) || strings.ContainsRune(v, '/') || strings.ContainsRune(v, '\\')
}

// lookPath searches only explicit PATH entries (no "" or ".").
func lookPath(path, name string) string {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" || dir == "." {
			continue
		}
		if c := filepath.Join(dir, name); isExecutable(c) {
			return c
		}
	}
	return ""
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// WorkerArgv is upstream's _worker_argv: hermes -p <profile> --cli
// --accept-hooks [--skills S]… [-m M [--provider P]] [--reasoning R] chat
// -q "work kanban task <id>" [-Q]. (Upstream also pins --toolsets from the
// profile's hermes config; kanbanshim cannot evaluate that config, so the
// worker resolves its own toolsets.)
func WorkerArgv(hermes []string, t *store.Task, profile string, extraSkills ...string) []string {
	cmd := append(append([]string{}, hermes...), "-p", profile, "--cli", "--accept-hooks")
	seen := map[string]bool{}
	for _, sk := range append(append([]string{}, t.Skills...), extraSkills...) {
		if sk != "" && !seen[sk] {
			seen[sk] = true
			cmd = append(cmd, "--skills", sk)
		}
	}
	if t.ModelOverride != nil {
		cmd = append(cmd, "-m", *t.ModelOverride)
		if t.ProviderOverride != nil {
			cmd = append(cmd, "--provider", *t.ProviderOverride)
		}
	}
	if t.ReasoningEffort != nil {
		cmd = append(cmd, "--reasoning", *t.ReasoningEffort)
	}
	cmd = append(cmd, "chat", "-q", "work kanban task "+t.ID)
	if t.GoalMode {
		cmd = append(cmd, "-Q")
	}
	return cmd
}

// WorkerEnv is upstream's worker environment on top of base (KEY=VALUE
// entries): the task, run, claim, board, database, workspace and profile
// pins, minus what must not leak into a worker.
func WorkerEnv(base []string, env home.Env, t *store.Task, profile, workspace string, b Board) []string {
	m := map[string]string{}
	var order []string
	for _, kv := range base {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := m[k]; !dup {
			order = append(order, k)
		}
		m[k] = v
	}
	set := func(k, v string) {
		if _, ok := m[k]; !ok {
			order = append(order, k)
		}
		m[k] = v
	}
	for _, k := range []string{"HERMES_TUI", "HERMES_DELEGATED_CHILD_CONTEXT"} {
		delete(m, k)
	}
	if ph := env.ProfileHome(profile); isDir(ph) {
		set("HERMES_HOME", ph)
	}
	if t.Tenant != nil && *t.Tenant != "" {
		set("HERMES_TENANT", *t.Tenant)
	}
	set("HERMES_KANBAN_TASK", t.ID)
	set("HERMES_KANBAN_WORKSPACE", workspace)
	set("HERMES_SESSION_SOURCE", "kanban")
	if filepath.IsAbs(workspace) && isDir(workspace) {
		set("TERMINAL_CWD", workspace)
	}
	if t.BranchName != nil && *t.BranchName != "" {
		set("HERMES_KANBAN_BRANCH", *t.BranchName)
	}
	if t.CurrentRunID != nil {
		set("HERMES_KANBAN_RUN_ID", strconv.FormatInt(*t.CurrentRunID, 10))
	}
	if t.ClaimLock != nil && *t.ClaimLock != "" {
		set("HERMES_KANBAN_CLAIM_LOCK", *t.ClaimLock)
	}
	if t.GoalMode {
		set("HERMES_KANBAN_GOAL_MODE", "1")
		if t.GoalMaxTurns != nil {
			set("HERMES_KANBAN_GOAL_MAX_TURNS", strconv.FormatInt(*t.GoalMaxTurns, 10))
		}
	}
	for _, k := range []string{"TERMINAL_TIMEOUT", "TERMINAL_MAX_FOREGROUND_TIMEOUT"} {
		if t.MaxRuntimeSeconds == nil {
			break
		}
		if v := workerTerminalTimeout(*t.MaxRuntimeSeconds, m[k]); v != "" {
			set(k, v)
		}
	}
	set("HERMES_KANBAN_DB", b.DB)
	set("HERMES_KANBAN_WORKSPACES_ROOT", b.Paths.WorkspacesRoot)
	set("HERMES_KANBAN_BOARD", b.Slug)
	set("HERMES_PROFILE", profile)
	out := make([]string, 0, len(order))
	for _, k := range order {
		if v, ok := m[k]; ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// RotateLog is upstream's _rotate_worker_log: a log over maxBytes becomes
// <log>.1 (older generations shift up to backups; 0 backups deletes it).
func RotateLog(path string, maxBytes int64, backups int) {
	st, err := os.Stat(path)
	if err != nil || st.Size() <= maxBytes {
		return
	}
	if backups <= 0 {
		_ = os.Remove(path)
		return
	}
	_ = os.Remove(path + "." + strconv.Itoa(backups))
	for g := backups - 1; g >= 1; g-- {
		src := path + "." + strconv.Itoa(g)
		if _, err := os.Stat(src); err == nil {
			_ = os.Rename(src, path+"."+strconv.Itoa(g+1))
		}
	}
	_ = os.Rename(path, path+".1")
}

// spawnRequest is everything needed to start one supervised worker.
type spawnRequest struct {
	task      *store.Task
	runID     int64
	profile   string
	workspace string
	board     Board
	settings  Settings
	skills    []string // forced extra skills (review lane: sdlc-review)
}

// spawn starts `kanban supervise` for a claimed task and waits for it to
// report: the worker started (its supervisor's pid is returned), no slot
// was free (*SlotBusyError) or the worker could not start (error).
func (d *Dispatcher) spawn(ctx context.Context, r spawnRequest) (int, error) {
	hermes, err := ResolveHermes(d.Env.Getenv, d.Env)
	if err != nil {
		return 0, err
	}
	logPath := filepath.Join(r.board.Paths.LogsDir, r.task.ID+".log")
	if err := os.MkdirAll(r.board.Paths.LogsDir, 0o755); err != nil {
		return 0, err
	}
	RotateLog(logPath, r.settings.LogRotateBytes, r.settings.LogBackups)
	argv := append(append([]string{}, d.Supervisor...), "supervise", "--task", r.task.ID, "--run", strconv.FormatInt(r.runID, 10),
		"--grace", strconv.FormatFloat(r.settings.ReclaimGrace.Seconds(), 'f', -1, 64),
		"--max-workers", strconv.Itoa(r.settings.MaxWorkers), "--profile", r.profile, "--log", logPath, "--status-fd", "3")
	if r.settings.PerProfile != nil {
		argv = append(argv, "--profile-cap", strconv.FormatInt(*r.settings.PerProfile, 10))
	}
	argv = append(argv, "--")
	argv = append(argv, WorkerArgv(hermes, r.task, r.profile, r.skills...)...)
	env := WorkerEnv(d.Environ, d.Env, r.task, r.profile, r.workspace, r.board)
	return d.startSupervisor(ctx, argv, env, r.workspace)
}

// startSupervisor starts the supervisor in its own session (a daemon
// restart must not take workers down with it) and reads its one-line
// report from a pipe on fd 3.
func (d *Dispatcher) startSupervisor(ctx context.Context, argv, env []string, dir string) (int, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer pr.Close()
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		pw.Close()
		return 0, err
	}
	defer devnull.Close()
	cmd := &exec.Cmd{Path: argv[0], Args: argv, Env: env, Stdin: devnull, Stdout: devnull, Stderr: devnull,
		ExtraFiles: []*os.File{pw}, SysProcAttr: &syscall.SysProcAttr{Setsid: true}}
	if isDir(dir) {
		cmd.Dir = dir
	}
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return 0, fmt.Errorf("start supervisor: %w", err)
	}
	d.reap(cmd)
	return readHandshake(ctx, pr, cmd.Process)
}

// readHandshake waits for "ok <worker pid>", "busy <scope> <cap>" or
// "error <message>".
func readHandshake(ctx context.Context, pr *os.File, p *os.Process) (int, error) {
	type reply struct {
		line string
		err  error
	}
	ch := make(chan reply, 1)
	go func() {
		line, err := bufio.NewReader(pr).ReadString('\n')
		ch <- reply{strings.TrimSpace(line), err}
	}()
	var rep reply
	select {
	case rep = <-ch:
	case <-time.After(handshakeTimeout):
		_ = proc.SignalGroup(p.Pid, syscall.SIGKILL)
		return 0, fmt.Errorf("supervisor pid %d did not report within %v", p.Pid, handshakeTimeout)
	case <-ctx.Done():
		_ = proc.SignalGroup(p.Pid, syscall.SIGKILL)
		return 0, context.Cause(ctx)
	}
	word, rest, _ := strings.Cut(rep.line, " ")
	switch word {
	case "ok":
		return p.Pid, nil
	case "busy":
		scope, capText, _ := strings.Cut(rest, " ")
		n, _ := strconv.Atoi(capText)
		return 0, &SlotBusyError{Scope: scope, Cap: n}
	case "error":
		return 0, errors.New(rest)
	}
	return 0, fmt.Errorf("supervisor pid %d exited before starting the worker", p.Pid)
}
