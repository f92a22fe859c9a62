package dispatch

import (
	"context"
	"errors"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/proc"
)

// Reclaim grace in one sentence: every termination (stale claim, max
// runtime, manual reclaim, archive) goes through proc.Terminator, which
// sends SIGTERM to the supervisor and waits for it to be gone; the
// supervisor forwards SIGTERM to its worker's process group, waits the
// grace window, SIGKILLs the group, records the exit and exits. Only then
// is the claim released; a supervisor that will not die keeps its claim
// (reclaim_deferred) so no duplicate spawns beside it.

// Terminator returns the termination function stores opened by the
// dispatcher use (store.Options.Terminate).
func Terminator(grace time.Duration) func(ctx context.Context, pid int) proc.Stopped {
	return proc.Terminator{Grace: grace}.Stop
}

// exitTTL and exitCap bound the reap registry, as upstream's
// _RECENT_WORKER_EXIT_TTL_SECONDS / _RECENT_WORKER_EXITS_MAX.
const (
	exitTTL = 10 * time.Minute
	exitCap = 4096
)

// ExitRegistry remembers how the supervisors this process started ended,
// for crash classification when a supervisor died before it could record
// its worker's exit (it was SIGKILLed, say).
type ExitRegistry struct {
	mu    sync.Mutex
	exits map[int64]reaped
}

type reaped struct {
	code, signal *int64
	at           time.Time
}

// Record stores a reaped process's status.
func (r *ExitRegistry) Record(pid int64, err error) {
	var rp reaped
	rp.at = time.Now()
	var ee *exec.ExitError
	switch {
	case err == nil:
		zero := int64(0)
		rp.code = &zero
	case errors.As(err, &ee):
		ws, ok := ee.Sys().(syscall.WaitStatus)
		if !ok {
			return
		}
		if ws.Signaled() {
			s := int64(ws.Signal())
			rp.signal = &s
		} else {
			c := int64(ws.ExitStatus())
			rp.code = &c
		}
	default:
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.exits == nil {
		r.exits = map[int64]reaped{}
	}
	r.exits[pid] = rp
	r.trim()
}

func (r *ExitRegistry) trim() {
	if len(r.exits) <= exitCap/2 {
		return
	}
	cutoff := time.Now().Add(-exitTTL)
	for pid, rp := range r.exits {
		if rp.at.Before(cutoff) || len(r.exits) > exitCap {
			delete(r.exits, pid)
		}
	}
}

// Lookup is an ExitLookup over the registry.
func (r *ExitRegistry) Lookup(pid int64) (code, signal *int64, ok bool) {
	if r == nil {
		return nil, nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rp, ok := r.exits[pid]
	return rp.code, rp.signal, ok
}

// reap waits for a started supervisor in the background, so it never
// lingers as a zombie of a long-lived daemon, and records how it ended.
func (d *Dispatcher) reap(cmd *exec.Cmd) {
	go func() {
		err := cmd.Wait()
		if d.Exits != nil {
			d.Exits.Record(int64(cmd.Process.Pid), err)
		}
	}()
}
