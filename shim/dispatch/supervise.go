package dispatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/proc"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// groupGoneWait bounds the wait for a SIGKILLed process group to vanish.
const groupGoneWait = 5 * time.Second

// Supervisor runs one worker for one claimed task: it holds the worker's
// slots for its whole life, starts the worker in its own process group,
// keeps the claim alive while the worker lives, stops the group with a
// grace window when told to, and records how the worker ended on the run.
// tasks.worker_pid is the supervisor's pid.
type Supervisor struct {
	Task  string
	RunID int64
	Argv  []string // the worker command line
	Env   []string // the worker environment
	Grace time.Duration

	Root       string // kanban root (slots)
	MaxWorkers int
	Profile    string
	ProfileCap int // 0: no per-profile slot

	// Log is the task log: the worker's stdout and stderr, and the
	// supervisor's notes. A file, so the worker writes to it directly.
	Log    *os.File
	Status io.WriteCloser

	ClaimLock string
	ClaimTTL  int64
	// Store opens the board for one short operation; the caller closes it.
	Store func(ctx context.Context) (*store.Store, error)
	// Signals delivers SIGTERM/SIGINT/SIGHUP sent to the supervisor.
	Signals <-chan os.Signal
}

// Run supervises the worker to the end and returns the supervisor's exit
// code: the worker's exit code, or 128+signal when it was killed.
func (sv *Supervisor) Run(ctx context.Context) (int, error) {
	slots, err := sv.takeSlots()
	if err != nil {
		var busy *SlotBusyError
		if errors.As(err, &busy) {
			sv.report("busy %s %d", busy.Scope, busy.Cap)
		} else {
			sv.report("error %s", oneLine(err.Error()))
		}
		return 1, err
	}
	defer func() {
		for _, s := range slots {
			s.Release()
		}
	}()
	select {
	case <-sv.Signals:
		sv.report("error terminated before the worker started")
		return 1, errors.New("terminated before the worker started")
	default:
	}
	// Pdeathsig (Linux) is delivered when the thread that forked the
	// worker exits, so that thread must live as long as the supervisor does.
	runtime.LockOSThread()
	cmd, err := sv.start()
	if err != nil {
		sv.report("error %s", oneLine(err.Error()))
		return 1, err
	}
	sv.report("ok %d", cmd.Process.Pid)
	sv.notef("worker pid %d started (slots %v, grace %v)", cmd.Process.Pid, slots, sv.Grace)
	return sv.watch(ctx, cmd), nil
}

// takeSlots takes a global slot, then a profile slot when capped.
func (sv *Supervisor) takeSlots() ([]*Slot, error) {
	g, err := TakeSlot(sv.Root, GlobalScope, sv.MaxWorkers, sv.Task, sv.RunID)
	if err != nil {
		return nil, err
	}
	if sv.ProfileCap <= 0 {
		return []*Slot{g}, nil
	}
	p, err := TakeSlot(sv.Root, ProfileScope(sv.Profile), sv.ProfileCap, sv.Task, sv.RunID)
	if err != nil {
		g.Release()
		return nil, err
	}
	return []*Slot{g, p}, nil
}

// start launches the worker in its own process group. It inherits no
// descriptor but stdio: slot, lease and database descriptors are
// close-on-exec and nothing is passed in ExtraFiles, so a worker can never
// keep a slot alive. On Linux pdeathsig kills it if the supervisor is
// SIGKILLed; elsewhere the worker log says it cannot.
func (sv *Supervisor) start() (*exec.Cmd, error) {
	if len(sv.Argv) == 0 {
		return nil, errors.New("no worker command")
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	cmd := exec.Command(sv.Argv[0], sv.Argv[1:]...)
	cmd.Env = sv.Env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, sv.Log, sv.Log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if !proc.DieWithParent(cmd.SysProcAttr) {
		sv.notef("note: no pdeathsig on this platform: if this supervisor is SIGKILLed, its worker keeps running and must be stopped by hand")
	}
	if err := cmd.Start(); err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) && errors.Is(pe.Err, os.ErrNotExist) {
			return nil, errHermesNotFound
		}
		return nil, err
	}
	return cmd, nil
}

// watch waits for the worker, extending the claim while it lives and
// stopping its group when a signal arrives, then records the exit.
func (sv *Supervisor) watch(ctx context.Context, cmd *exec.Cmd) int {
	pgid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	extend := time.NewTicker(extendEvery(sv.ClaimTTL))
	defer extend.Stop()
	var stop stopper
	for {
		select {
		case werr := <-done:
			exit := sv.exitOf(cmd, werr)
			stop.finish(sv, pgid)
			exit.Terminated, exit.SIGKILL = stop.started, stop.killed
			sv.record(ctx, exit)
			return exitCode(exit)
		case sig := <-sv.Signals:
			stop.begin(sv, pgid, sig)
		case <-stop.deadline():
			stop.kill(sv, pgid)
		case <-extend.C:
			sv.extendClaim(ctx)
		}
	}
}

// stopper is the SIGTERM -> grace -> SIGKILL sequence for one group.
type stopper struct {
	started, killed bool
	until           time.Time
	timer           *time.Timer
}

func (s *stopper) begin(sv *Supervisor, pgid int, sig os.Signal) {
	if s.started {
		return
	}
	s.started, s.until = true, time.Now().Add(sv.Grace)
	s.timer = time.NewTimer(sv.Grace)
	sv.notef("%v received: SIGTERM to process group %d, SIGKILL after %v", sig, pgid, sv.Grace)
	_ = proc.SignalGroup(pgid, syscall.SIGTERM)
}

// deadline fires when the grace window ends (never before a stop begins).
func (s *stopper) deadline() <-chan time.Time {
	if s.timer == nil || s.killed {
		return nil
	}
	return s.timer.C
}

func (s *stopper) kill(sv *Supervisor, pgid int) {
	if s.killed {
		return
	}
	s.killed = true
	sv.notef("process group %d still alive after %v: SIGKILL", pgid, sv.Grace)
	_ = proc.SignalGroup(pgid, syscall.SIGKILL)
}

// finish clears what is left of the group once its leader has exited:
// the rest gets SIGTERM (unless a stop already sent it), the remainder of
// the grace window, then SIGKILL, so nothing the worker started outlives
// its slot.
func (s *stopper) finish(sv *Supervisor, pgid int) {
	if !proc.GroupAlive(pgid) {
		return
	}
	until := s.until
	if !s.started {
		until = time.Now().Add(sv.Grace)
		sv.notef("worker exited; SIGTERM to what is left of process group %d", pgid)
		_ = proc.SignalGroup(pgid, syscall.SIGTERM)
	}
	if waitGroupGone(pgid, time.Until(until)) {
		return
	}
	s.kill(sv, pgid)
	waitGroupGone(pgid, groupGoneWait)
}

func waitGroupGone(pgid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for proc.GroupAlive(pgid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// exitOf reads the worker's wait status.
func (sv *Supervisor) exitOf(cmd *exec.Cmd, werr error) WorkerExit {
	e := WorkerExit{PID: int64(cmd.Process.Pid), Supervisor: int64(os.Getpid())}
	if cmd.ProcessState == nil {
		sv.notef("wait for worker: %v", werr)
		return e
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		sig := int64(ws.Signal())
		e.Signal = &sig
		return e
	}
	code := int64(cmd.ProcessState.ExitCode())
	e.Code = &code
	return e
}

func exitCode(e WorkerExit) int {
	switch {
	case e.Signal != nil:
		return 128 + int(*e.Signal)
	case e.Code != nil:
		return int(*e.Code)
	}
	return 1
}

// record writes the worker_exited event (only while the run is open).
func (sv *Supervisor) record(ctx context.Context, e WorkerExit) {
	how := "exited rc=?"
	switch {
	case e.Signal != nil:
		how = fmt.Sprintf("killed by signal %d", *e.Signal)
	case e.Code != nil:
		how = fmt.Sprintf("exited rc=%d", *e.Code)
	}
	sv.notef("worker pid %d %s", e.PID, how)
	err := sv.withStore(ctx, func(st *store.Store) error {
		_, err := recordWorkerExit(ctx, st, sv.Task, sv.RunID, e)
		return err
	})
	if err != nil {
		sv.notef("could not record the worker's exit: %v", err)
	}
}

// extendClaim keeps the claim alive while the worker lives.
func (sv *Supervisor) extendClaim(ctx context.Context) {
	if sv.ClaimLock == "" {
		return
	}
	err := sv.withStore(ctx, func(st *store.Store) error {
		_, err := ExtendWorkerClaim(ctx, st, sv.Task, sv.RunID, sv.ClaimLock, sv.ClaimTTL, int64(os.Getpid()))
		return err
	})
	if err != nil {
		sv.notef("could not extend the claim: %v", err)
	}
}

// withStore opens the board for one operation and closes it again: a
// supervisor lives as long as its worker and must not hold the database
// open all that time.
func (sv *Supervisor) withStore(ctx context.Context, fn func(*store.Store) error) error {
	if sv.Store == nil {
		return nil
	}
	st, err := sv.Store(ctx)
	if err != nil {
		return err
	}
	return errors.Join(fn(st), st.Close())
}

// extendEvery is a third of the claim TTL, between 1 s and 5 min.
func extendEvery(ttl int64) time.Duration {
	d := time.Duration(ttl) * time.Second / 3
	return min(max(d, time.Second), 5*time.Minute)
}

// report writes the one-line handshake for the dispatcher, once.
func (sv *Supervisor) report(format string, args ...any) {
	if sv.Status == nil {
		return
	}
	fmt.Fprintf(sv.Status, format+"\n", args...)
	sv.Status.Close()
	sv.Status = nil
}

// notef writes a supervisor note into the task log.
func (sv *Supervisor) notef(format string, args ...any) {
	if sv.Log == nil {
		return
	}
	fmt.Fprintf(sv.Log, "[kanban-supervise %s] %s\n", time.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, args...))
}

func oneLine(s string) string {
	out := []rune{}
	for _, r := range s {
		if r == '\n' || r == '\r' {
			r = ' '
		}
		out = append(out, r)
	}
	return string(out)
}
