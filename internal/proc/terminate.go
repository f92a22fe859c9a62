package proc

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// superviseMargin is how long past its grace a supervisor may take to
// SIGKILL its worker group, record the exit and go away.
const superviseMargin = 10 * time.Second

// Stopped is what Terminator.Stop did to a process.
type Stopped struct {
	Done    bool // the process is gone
	SIGKILL bool // it (or its group) needed SIGKILL
}

// Terminator stops a worker. A pid that is a kanbanshim supervisor gets
// SIGTERM and is trusted to stop its worker's process group within its
// own grace (it forwards SIGTERM, waits, SIGKILLs the group); we wait for
// it to be gone. Any other pid is a worker upstream started, handled
// upstream's way but with Grace instead of 5 s: SIGTERM the pid, wait,
// SIGKILL (its process group when it leads one, as upstream's
// start_new_session workers do).
type Terminator struct {
	Grace time.Duration
}

// Stop stops pid and waits for it to be gone.
func (t Terminator) Stop(ctx context.Context, pid int) Stopped {
	if sv, ok := SupervisorOf(pid); ok {
		return t.stopSupervisor(ctx, pid, sv)
	}
	return t.stopWorker(ctx, pid)
}

func (t Terminator) stopSupervisor(ctx context.Context, pid int, sv Supervised) Stopped {
	if err := syscall.Kill(pid, syscall.SIGTERM); errors.Is(err, syscall.ESRCH) {
		return Stopped{Done: true}
	}
	grace := t.Grace
	if sv.Grace >= 0 {
		grace = sv.Grace
	}
	if WaitExit(ctx, pid, grace+superviseMargin) {
		return Stopped{Done: true}
	}
	// The supervisor itself is stuck: kill its worker groups, then it.
	for _, child := range Children(pid) {
		_ = syscall.Kill(-child, syscall.SIGKILL)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	return Stopped{SIGKILL: true, Done: WaitExit(ctx, pid, 2*time.Second)}
}

func (t Terminator) stopWorker(ctx context.Context, pid int) Stopped {
	if err := syscall.Kill(pid, syscall.SIGTERM); errors.Is(err, syscall.ESRCH) {
		return Stopped{Done: true}
	}
	if WaitExit(ctx, pid, t.Grace) {
		return Stopped{Done: true}
	}
	target := pid
	if pg, err := syscall.Getpgid(pid); err == nil && pg == pid {
		target = -pid
	}
	_ = syscall.Kill(target, syscall.SIGKILL)
	return Stopped{SIGKILL: true, Done: WaitExit(ctx, pid, 2*time.Second)}
}

// Supervised describes a `kanban supervise` process, read from its
// command line.
type Supervised struct {
	Task  string
	Run   int64
	Grace time.Duration // -1 when the command line does not say
}

// SupervisorOf reports whether pid is a kanbanshim supervisor (its argv
// holds the `supervise` verb with --task and --run before `--`). Without
// /proc nobody is: a supervisor is then stopped like any worker, and its
// SIGTERM handler still stops the worker group within its own grace.
func SupervisorOf(pid int) (Supervised, bool) {
	return ParseSupervisorArgs(Cmdline(pid))
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

// KillByEnv SIGKILLs every live process but this one whose environment
// holds all of vars ("NAME=value"), and returns how many it killed. Only
// processes whose environment we may read are seen (none without /proc).
func KillByEnv(vars ...string) int { return KillByEnvAny([][]string{vars})[0] }

// KillByEnvAny is KillByEnv for many sets of variables in one pass over
// the processes: a process is killed when its environment holds every
// variable of any one set, and counts[i] is how many set i killed. A
// dispatcher reclaiming thousands of tasks reads each process's
// environment once, not once per task.
func KillByEnvAny(sets [][]string) (counts []int) {
	counts = make([]int, len(sets))
	if len(sets) == 0 {
		return counts
	}
	want := make([][][]byte, len(sets))
	for i, vars := range sets {
		for _, v := range vars {
			want[i] = append(want[i], []byte("\x00"+v+"\x00"))
		}
	}
	self := os.Getpid()
	Each(func(pid int, st Stat) {
		if pid == self || st.Zombie() {
			return
		}
		env, err := environ(pid)
		if err != nil {
			return
		}
		env = append(append([]byte{0}, env...), 0)
		for i, w := range want {
			if containsAll(env, w) {
				if syscall.Kill(pid, syscall.SIGKILL) == nil {
					counts[i]++
				}
				return
			}
		}
	})
	return counts
}

func containsAll(env []byte, want [][]byte) bool {
	for _, w := range want {
		if !bytes.Contains(env, w) {
			return false
		}
	}
	return true
}
