package dispatch

import (
	"context"
	"fmt"
	"strconv"

	"github.com/kanbanshim/kanbanshim/internal/proc"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// batchRows is how many tasks one write transaction of a sweep settles.
// The first tick on a big board may reclaim, reconcile or time out
// thousands of tasks: in one transaction per task that was one commit
// (and fsync, and lease hand-over) per task — 12,500 reclaims took 12 s.
// Batched, a sweep commits once per batchRows tasks, and still holds the
// write lease for one batch at a time (well under a second), so other
// writers are not kept waiting for the whole sweep.
const batchRows = 1000

// writeBatches runs row(tx, i) for i in [0, n) inside write transactions
// of up to batchRows rows each, in order. A row's statements are exactly
// what its own transaction ran; a failure rolls back its batch (earlier
// batches stay committed) and stops the sweep. committed is called after
// each batch commits with the range it covered, so callers report only
// what is on disk.
func writeBatches(ctx context.Context, st *store.Store, op string, n int, row func(tx *store.Tx, i int) error, committed func(lo, hi int)) error {
	for lo := 0; lo < n; lo += batchRows {
		hi := min(lo+batchRows, n)
		err := st.WriteTx(ctx, fmt.Sprintf("%s (%d-%d of %d)", op, lo+1, hi, n), func(tx *store.Tx) error {
			for i := lo; i < hi; i++ {
				if err := row(tx, i); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if committed != nil {
			committed(lo, hi)
		}
	}
	return nil
}

// appendDone appends id(i) for each i in [lo, hi) whose done[i] is set:
// what a committed batch settled.
func appendDone(out []string, done []bool, lo, hi int, id func(i int) string) []string {
	for i := lo; i < hi; i++ {
		if done[i] {
			out = append(out, id(i))
		}
	}
	return out
}

// leftovers collects the (task, run) pairs whose dead workers may have
// left processes behind.
type leftovers [][]string

func (l *leftovers) add(taskID string, runID int64) {
	*l = append(*l, []string{"HERMES_KANBAN_TASK=" + taskID, "HERMES_KANBAN_RUN_ID=" + strconv.FormatInt(runID, 10)})
}

// kill SIGKILLs every process whose environment names one of the pairs
// (a worker whose supervisor died without stopping it: SIGKILLed
// supervisor, OOM), reading each process's environment once however many
// tasks a sweep settles.
func (l leftovers) kill() {
	if len(l) > 0 {
		proc.KillByEnvAny(l)
	}
}
