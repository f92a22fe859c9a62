package store

import (
	"context"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// WorkerExitEvent is the event kind a supervisor writes when its worker
// ends while the run is still open. Upstream learns how a worker ended
// only if the dispatcher process itself reaped it; the supervisor's record
// makes the crash classification exact whoever runs the next tick.
const WorkerExitEvent = "worker_exited"

// WorkerExit is how a supervised worker ended, as its supervisor saw it.
type WorkerExit struct {
	PID        int64  // the worker (its process group's leader)
	Supervisor int64  // the supervisor's pid (tasks.worker_pid)
	Code       *int64 // exit status, when it exited
	Signal     *int64 // terminating signal, when it was killed
	Terminated bool   // the supervisor had been told to stop it
	SIGKILL    bool   // the group needed SIGKILL after the grace window
}

// Object is the event payload.
func (e WorkerExit) Object() py.Object {
	return py.Obj("pid", e.PID, "supervisor_pid", e.Supervisor, "exit_code", e.Code, "signal", e.Signal,
		"terminated", e.Terminated, "sigkill", e.SIGKILL)
}

// Class is upstream's exit class and code for this exit.
func (e WorkerExit) Class() (string, *int64) { return exitClass(e.Code, e.Signal, e.Terminated) }

// RecordWorkerExit writes the worker_exited event on the run, but only
// while the task is still running that run: a worker that completed or
// was reclaimed has nothing left to classify. It reports whether the
// record was written.
func (s *Store) RecordWorkerExit(ctx context.Context, id string, runID int64, e WorkerExit) (bool, error) {
	ok := false
	err := s.Write(ctx, "worker exit "+id, func() error {
		_, found, err := sqlx.QueryInt(s.conn, "SELECT 1 FROM tasks WHERE id = ? AND status = 'running' AND current_run_id = ?", id, runID)
		if err != nil || !found {
			return err
		}
		ok = true
		return s.appendEvent(id, WorkerExitEvent, e.Object(), &runID)
	})
	return ok, err
}

// workerExit reads the supervisor's record for a run (nil when none).
func (s *Store) workerExit(id string, runID int64) (*WorkerExit, error) {
	p, err := s.latestEventPayload(id, WorkerExitEvent, &runID)
	if err != nil || len(p) == 0 {
		return nil, err
	}
	e := &WorkerExit{PID: dispInt(p, "pid"), Supervisor: dispInt(p, "supervisor_pid"), Code: dispOptInt(p, "exit_code"),
		Signal: dispOptInt(p, "signal")}
	e.SIGKILL = dispTruthy(dispGet(p, "sigkill"))
	e.Terminated = dispTruthy(dispGet(p, "terminated"))
	return e, nil
}

// withSupervisorKill folds the supervisor's SIGKILL into a termination
// report: the supervisor, not us, killed the group after its grace.
func (s *Store) withSupervisorKill(id string, term Termination) Termination {
	runID, err := s.currentRunID(id)
	if err != nil || runID == nil {
		return term
	}
	if e, err := s.workerExit(id, *runID); err == nil && e != nil && e.SIGKILL {
		term.SIGKILL = true
	}
	return term
}

func dispGet(o py.Object, k string) any { v, _ := o.Get(k); return v }

func dispInt(o py.Object, k string) int64 {
	if v := dispOptInt(o, k); v != nil {
		return *v
	}
	return 0
}

func dispOptInt(o py.Object, k string) *int64 {
	switch x := dispGet(o, k).(type) {
	case int64:
		return &x
	case float64:
		n := int64(x)
		return &n
	}
	return nil
}
