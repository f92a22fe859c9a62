package store

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/py"
)

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

// TerminateWorker is upstream's worker termination: nothing unless the pid
// is known and the claim is host-local; else SIGTERM, poll for grace,
// SIGKILL. The dispatcher substitutes its process-group version.
func TerminateWorker(ctx context.Context, pid *int64, claimLock *string, grace time.Duration) Termination {
	t := Termination{PrevPID: pid, HostLocal: HostLocal(claimLock)}
	if pid == nil || *pid <= 0 || claimLock == nil || !t.HostLocal {
		return t
	}
	t.Attempted = true
	if err := syscall.Kill(int(*pid), syscall.SIGTERM); errors.Is(err, syscall.ESRCH) {
		t.Done = true
		return t
	}
	if WaitExit(ctx, int(*pid), grace) {
		t.Done = true
		return t
	}
	_ = syscall.Kill(int(*pid), syscall.SIGKILL)
	t.SIGKILL = true
	t.Done = WaitExit(ctx, int(*pid), time.Second)
	return t
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
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "State:") {
			return !strings.Contains(line, "Z")
		}
	}
	return true
}

func (s *Store) terminate(ctx context.Context, pid *int64, lock *string) Termination {
	if s.opts.Terminate != nil {
		return s.opts.Terminate(ctx, pid, lock)
	}
	return TerminateWorker(ctx, pid, lock, 5*time.Second)
}
