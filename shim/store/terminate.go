package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/py"
)

// DefaultReclaimGrace is kanbanshim's SIGTERM -> SIGKILL window when a
// reclaim stops a worker (HERMES_KANBAN_RECLAIM_GRACE_SECONDS /
// kanban.reclaim_grace_seconds override it). Upstream hard-codes 5 s,
// which kills workers in the middle of their last write (upstream #69235).
const DefaultReclaimGrace = 30 * time.Second

// superviseMargin is how long past its grace a supervisor may take to
// SIGKILL its worker group, record the exit and go away.
const superviseMargin = 10 * time.Second

// Termination reports what happened to a worker we were asked to stop;
// its fields become the payload keys upstream records.
type Termination struct {
	PrevPID   *int64
	HostLocal bool
	Attempted bool
	Done      bool // the worker is gone
	SIGKILL   bool
}

// Object is the termination dict upstream merges into reclaim events.
func (t Termination) Object() py.Object {
	return py.Obj("prev_pid", t.PrevPID, "host_local", t.HostLocal, "termination_attempted", t.Attempted,
		"terminated", t.Done, "sigkill", t.SIGKILL)
}

// Survived reports a host-local worker that outlived the attempt: its
// claim must be kept (else a duplicate spawns beside it).
func (t Termination) Survived() bool { return t.Attempted && t.HostLocal && !t.Done }

// Terminator stops the worker behind a claim. A pid that is a kanbanshim
// supervisor gets SIGTERM and is trusted to stop its worker's process
// group within its own grace (it forwards SIGTERM, waits, SIGKILLs the
// group); we wait for it to be gone. Any other pid is a worker upstream
// started, handled upstream's way but with Grace instead of 5 s: SIGTERM
// the pid, wait, SIGKILL (its process group when it leads one, as
// upstream's start_new_session workers do).
type Terminator struct {
	Grace time.Duration
}

// TerminateWorker is Terminator{Grace: grace}.Terminate.
func TerminateWorker(ctx context.Context, pid *int64, claimLock *string, grace time.Duration) Termination {
	return Terminator{Grace: grace}.Terminate(ctx, pid, claimLock)
}

// Terminate stops the worker; nothing is attempted unless the pid is known
// and the claim is host-local, as upstream does.
func (t Terminator) Terminate(ctx context.Context, pid *int64, claimLock *string) Termination {
	term := Termination{PrevPID: pid, HostLocal: HostLocal(claimLock)}
	if pid == nil || *pid <= 0 || claimLock == nil || !term.HostLocal {
		return term
	}
	term.Attempted = true
	p := int(*pid)
	if sv, ok := SupervisorOf(p); ok {
		return t.stopSupervisor(ctx, p, sv, term)
	}
	return t.stopWorker(ctx, p, term)
}

func (t Terminator) stopSupervisor(ctx context.Context, pid int, sv Supervised, term Termination) Termination {
	if err := syscall.Kill(pid, syscall.SIGTERM); errors.Is(err, syscall.ESRCH) {
		term.Done = true
		return term
	}
	grace := t.Grace
	if sv.Grace >= 0 {
		grace = sv.Grace
	}
	if WaitExit(ctx, pid, grace+superviseMargin) {
		term.Done = true
		return term
	}
	// The supervisor itself is stuck: kill its worker groups, then it.
	for _, child := range ChildPIDs(pid) {
		_ = syscall.Kill(-child, syscall.SIGKILL)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	term.SIGKILL = true
	term.Done = WaitExit(ctx, pid, 2*time.Second)
	return term
}

func (t Terminator) stopWorker(ctx context.Context, pid int, term Termination) Termination {
	if err := syscall.Kill(pid, syscall.SIGTERM); errors.Is(err, syscall.ESRCH) {
		term.Done = true
		return term
	}
	if WaitExit(ctx, pid, t.Grace) {
		term.Done = true
		return term
	}
	target := pid
	if pg, err := syscall.Getpgid(pid); err == nil && pg == pid {
		target = -pid
	}
	_ = syscall.Kill(target, syscall.SIGKILL)
	term.SIGKILL = true
	term.Done = WaitExit(ctx, pid, 2*time.Second)
	return term
}

// TerminateAll runs term for every (pid, lock) pair at once and returns
// the reports in order: a tick that must stop several workers waits one
// grace window, not one per worker.
func TerminateAll(ctx context.Context, term func(context.Context, *int64, *string) Termination, pids []*int64, locks []*string) []Termination {
	out := make([]Termination, len(pids))
	var wg sync.WaitGroup
	for i := range pids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = term(ctx, pids[i], locks[i])
		}()
	}
	wg.Wait()
	return out
}

// WaitExit polls until pid is gone (or a zombie) or d passes.
func WaitExit(ctx context.Context, pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if !PIDAlive(pid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return !PIDAlive(pid)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// PIDAlive is upstream's _pid_alive: the process exists and is not a
// zombie.
func PIDAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	st, ok := readStat(pid)
	if !ok {
		return PIDExists(pid)
	}
	return st.state != 'Z'
}

// PIDExists reports whether kill(pid, 0) finds the process (zombies
// included).
func PIDExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// procStat is the part of /proc/<pid>/stat we use.
type procStat struct {
	state byte
	ppid  int
	pgrp  int
}

// readStat parses /proc/<pid>/stat; the command name may hold spaces and
// parentheses, so fields are counted from the last ')'.
func readStat(pid int) (procStat, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 3 || len(f[0]) != 1 {
		return procStat{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgrp, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil {
		return procStat{}, false
	}
	return procStat{state: f[0][0], ppid: ppid, pgrp: pgrp}, true
}

// eachProc calls fn for every numeric /proc entry whose stat parses.
func eachProc(fn func(pid int, st procStat)) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		if st, ok := readStat(pid); ok {
			fn(pid, st)
		}
	}
}

// GroupAlive reports whether any live (non-zombie) process is in process
// group pgid. Zombies are skipped: they hold no resources and vanish when
// reaped, so "the group is gone" must not wait for their parent.
func GroupAlive(pgid int) bool {
	if pgid <= 0 || !PIDExists(-pgid) {
		return false
	}
	alive, scanned := false, false
	eachProc(func(pid int, st procStat) {
		scanned = true
		if st.pgrp == pgid && st.state != 'Z' {
			alive = true
		}
	})
	return alive || !scanned
}

// ChildPIDs lists the live children of pid.
func ChildPIDs(pid int) []int {
	var out []int
	eachProc(func(p int, st procStat) {
		if st.ppid == pid && st.state != 'Z' {
			out = append(out, p)
		}
	})
	return out
}

// Supervised describes a `kanban supervise` process, read from its
// command line.
type Supervised struct {
	Task  string
	Run   int64
	Grace time.Duration // -1 when the command line does not say
}

// SupervisorOf reports whether pid is a kanbanshim supervisor (its argv
// holds the `supervise` verb with --task and --run before `--`).
func SupervisorOf(pid int) (Supervised, bool) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || len(data) == 0 {
		return Supervised{}, false
	}
	return ParseSupervisorArgs(strings.Split(string(bytes.TrimRight(data, "\x00")), "\x00"))
}

// ParseSupervisorArgs recognises a supervisor command line.
func ParseSupervisorArgs(argv []string) (Supervised, bool) {
	sv := Supervised{Grace: -1}
	verb := false
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			break
		}
		if a == "supervise" {
			verb = true
			continue
		}
		if !verb || !strings.HasPrefix(a, "--") {
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		if !hasVal && i+1 < len(argv) {
			val = argv[i+1]
		}
		switch name {
		case "--task":
			sv.Task = val
		case "--run":
			sv.Run, _ = strconv.ParseInt(val, 10, 64)
		case "--grace":
			if f, err := strconv.ParseFloat(val, 64); err == nil && f >= 0 {
				sv.Grace = time.Duration(f * float64(time.Second))
			}
		}
	}
	return sv, verb && sv.Task != "" && sv.Run > 0
}

// KillRunLeftovers SIGKILLs every process (but this one) whose
// environment names this task and run: what is left of a worker whose
// supervisor died without stopping it (SIGKILLed supervisor, OOM). Only
// processes whose environment we may read are seen.
func KillRunLeftovers(taskID string, runID int64) int {
	want1 := []byte("\x00HERMES_KANBAN_TASK=" + taskID + "\x00")
	want2 := []byte("\x00HERMES_KANBAN_RUN_ID=" + strconv.FormatInt(runID, 10) + "\x00")
	self, n := os.Getpid(), 0
	eachProc(func(pid int, st procStat) {
		if pid == self || st.state == 'Z' {
			return
		}
		env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
		if err != nil {
			return
		}
		env = append(append([]byte{0}, env...), 0)
		if bytes.Contains(env, want1) && bytes.Contains(env, want2) && syscall.Kill(pid, syscall.SIGKILL) == nil {
			n++
		}
	})
	return n
}

func (s *Store) terminate(ctx context.Context, pid *int64, lock *string) Termination {
	if s.opts.Terminate != nil {
		return s.opts.Terminate(ctx, pid, lock)
	}
	return Terminator{Grace: DefaultReclaimGrace}.Terminate(ctx, pid, lock)
}
