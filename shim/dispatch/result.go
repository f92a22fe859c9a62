package dispatch

import (
	"fmt"
	"io"
	"strings"

	"github.com/kanbanshim/kanbanshim/internal/py"
)

// Spawned is one worker a tick started (or, dry, would start).
type Spawned struct{ TaskID, Assignee, Workspace string }

// Capped is a task deferred because its assignee is at the per-profile cap.
type Capped struct {
	TaskID, Assignee string
	Current          int64
}

// Guarded is a task the respawn guard held back.
type Guarded struct{ TaskID, Reason string }

// Result is upstream's DispatchResult: what one tick did.
type Result struct {
	Reclaimed               int
	Promoted                int
	ReconciledOrphans       []string
	Spawned                 []Spawned
	SkippedUnassigned       []string
	AutoAssignedDefault     []string
	SkippedNonspawnable     []string
	SkippedPerProfileCapped []Capped
	Crashed                 []string
	AutoBlocked             []string
	TimedOut                []string
	Stale                   []string
	RespawnGuarded          []Guarded
	RateLimited             []string
	// SkippedLocked: another dispatcher held the board's tick lock; this
	// tick wrote nothing.
	SkippedLocked bool
	// MemoryPressure is "critical" or "elevated" when it limited spawning.
	MemoryPressure string

	// capped: a cap or the worker slots stopped spawning this tick, so
	// ready work left behind is queued, not stuck.
	capped bool
}

// DidWork reports whether the tick changed anything worth a log line
// (upstream's daemon verbose condition).
func (r Result) DidWork() bool {
	return r.Reclaimed > 0 || len(r.Crashed) > 0 || len(r.TimedOut) > 0 || r.Promoted > 0 ||
		len(r.Spawned) > 0 || len(r.AutoBlocked) > 0 || len(r.Stale) > 0
}

// JSON is `kanban dispatch --json`'s object, keys in upstream's order.
func (r Result) JSON() py.Object {
	spawned := make([]any, len(r.Spawned))
	for i, s := range r.Spawned {
		spawned[i] = py.Obj("task_id", s.TaskID, "assignee", s.Assignee, "workspace", s.Workspace)
	}
	capped := make([]any, len(r.SkippedPerProfileCapped))
	for i, c := range r.SkippedPerProfileCapped {
		capped[i] = py.Obj("task_id", c.TaskID, "assignee", c.Assignee, "current", c.Current)
	}
	return py.Obj(
		"reclaimed", int64(r.Reclaimed),
		"crashed", list(r.Crashed),
		"timed_out", list(r.TimedOut),
		"stale", list(r.Stale),
		"auto_blocked", list(r.AutoBlocked),
		"promoted", int64(r.Promoted),
		"spawned", spawned,
		"skipped_unassigned", list(r.SkippedUnassigned),
		"skipped_nonspawnable", list(r.SkippedNonspawnable),
		"skipped_per_profile_capped", capped,
		"auto_assigned_default", list(r.AutoAssignedDefault),
	)
}

func list(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// WriteText prints the result as upstream's `hermes kanban dispatch` does.
func (r Result) WriteText(w io.Writer, dryRun bool, defaultAssignee string) {
	fmt.Fprintf(w, "Reclaimed:    %d\n", r.Reclaimed)
	for _, row := range []struct {
		label string
		ids   []string
	}{{"Crashed:     ", r.Crashed}, {"Timed out:   ", r.TimedOut}, {"Stale:       ", r.Stale}, {"Auto-blocked:", r.AutoBlocked}} {
		fmt.Fprintf(w, "%s %d\n", row.label, len(row.ids))
		if len(row.ids) > 0 {
			fmt.Fprintf(w, "  %s\n", strings.Join(row.ids, ", "))
		}
	}
	fmt.Fprintf(w, "Promoted:     %d\n", r.Promoted)
	fmt.Fprintf(w, "Spawned:      %d\n", len(r.Spawned))
	tag := ""
	if dryRun {
		tag = " (dry)"
	}
	for _, s := range r.Spawned {
		ws := s.Workspace
		if ws == "" {
			ws = "-"
		}
		fmt.Fprintf(w, "  - %s  ->  %s  @ %s%s\n", s.TaskID, s.Assignee, ws, tag)
	}
	if len(r.AutoAssignedDefault) > 0 {
		fmt.Fprintf(w, "Auto-assigned to kanban.default_assignee=%s: %s\n", py.Repr(defaultAssignee), strings.Join(r.AutoAssignedDefault, ", "))
	}
	if len(r.SkippedUnassigned) > 0 {
		fmt.Fprintf(w, "Skipped (unassigned): %s\n", strings.Join(r.SkippedUnassigned, ", "))
	}
	for _, c := range r.SkippedPerProfileCapped {
		fmt.Fprintf(w, "Deferred (%s at per-profile cap, %d running): %s\n", c.Assignee, c.Current, c.TaskID)
	}
	if len(r.SkippedNonspawnable) > 0 {
		fmt.Fprintf(w, "Skipped (non-spawnable assignee — terminal lane, OK): %s\n", strings.Join(r.SkippedNonspawnable, ", "))
	}
}

// Summary is the daemon's verbose one-line tick report.
func (r Result) Summary() string {
	return fmt.Sprintf("reclaimed=%d crashed=%d timed_out=%d stale=%d promoted=%d spawned=%d auto_blocked=%d",
		r.Reclaimed, len(r.Crashed), len(r.TimedOut), len(r.Stale), r.Promoted, len(r.Spawned), len(r.AutoBlocked))
}
