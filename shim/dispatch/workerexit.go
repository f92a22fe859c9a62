package dispatch

import (
	"context"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/shim/store"
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

// recordWorkerExit writes the worker_exited event on the run, but only
// while the task is still running that run: a worker that completed or
// was reclaimed has nothing left to classify. It reports whether the
// record was written.
func recordWorkerExit(ctx context.Context, st *store.Store, id string, runID int64, e WorkerExit) (bool, error) {
	ok := false
	err := st.WriteTx(ctx, "worker exit "+id, func(tx *store.Tx) error {
		_, found, err := sqlx.QueryInt(tx.Conn(), "SELECT 1 FROM tasks WHERE id = ? AND status = 'running' AND current_run_id = ?", id, runID)
		if err != nil || !found {
			return err
		}
		ok = true
		return tx.AppendEvent(id, WorkerExitEvent, e.Object(), &runID)
	})
	return ok, err
}

// workerExit reads the supervisor's record for a run (nil when none).
// Its flags are read with Python's truthiness, as everything else in a
// payload is.
func workerExit(tx *store.Tx, id string, runID int64) (*WorkerExit, error) {
	p, err := tx.LatestEventPayload(id, WorkerExitEvent, &runID)
	if err != nil || len(p) == 0 {
		return nil, err
	}
	e := &WorkerExit{PID: payloadInt(p, "pid"), Supervisor: payloadInt(p, "supervisor_pid"), Code: payloadOptInt(p, "exit_code"),
		Signal: payloadOptInt(p, "signal")}
	e.SIGKILL = py.Truthy(payloadGet(p, "sigkill"))
	e.Terminated = py.Truthy(payloadGet(p, "terminated"))
	return e, nil
}

// withSupervisorKill folds the supervisor's SIGKILL into a termination
// report: the supervisor, not us, killed the group after its grace.
func withSupervisorKill(tx *store.Tx, id string, term store.Termination) store.Termination {
	runID, err := tx.CurrentRunID(id)
	if err != nil || runID == nil {
		return term
	}
	if e, err := workerExit(tx, id, *runID); err == nil && e != nil && e.SIGKILL {
		term.SIGKILL = true
	}
	return term
}

func payloadGet(o py.Object, k string) any { v, _ := o.Get(k); return v }

func payloadInt(o py.Object, k string) int64 {
	if v := payloadOptInt(o, k); v != nil {
		return *v
	}
	return 0
}

func payloadOptInt(o py.Object, k string) *int64 {
	switch x := payloadGet(o, k).(type) {
	case int64:
		return &x
	case float64:
		n := int64(x)
		return &n
	}
	return nil
}
