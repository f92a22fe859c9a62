package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/recover"
	"github.com/kanbanshim/kanbanshim/shim/home"
)

type snapshotVerb struct{ jsonFlag }

func (c *snapshotVerb) flags(fs *pflag.FlagSet) { c.jsonFlag.register(fs) }

func (c *snapshotVerb) args(args []string) error { return noArgs(args) }

// snapshotJSON is snapshot's --json object.
type snapshotJSON struct {
	Board   *string `json:"board"`
	Missing bool    `json:"missing,omitempty"`
	*recover.SnapshotReport
}

// run takes a verified snapshot of a healthy board into its snapshot set
// and prunes the set to kanban.snapshot_keep. A damaged board is refused
// (exit 3), a lack of space skips it (exit 1), an empty board has nothing
// to snapshot (exit 0, as a board with no database yet); nothing is
// written then.
func (c *snapshotVerb) run(ctx context.Context, a *App, t target) (result, error) {
	if t.Missing {
		if !c.json {
			a.out("%s: no database yet; nothing to snapshot", t.Describe())
		}
		return result{obj: snapshotJSON{Board: t.SlugOrNil(), Missing: true,
			SnapshotReport: &recover.SnapshotReport{DBPath: t.DB, Kept: []string{}, Pruned: []string{}}}}, nil
	}
	cfg, _ := home.LoadConfig(a.Env)
	keep, err := home.SnapshotKeep(cfg)
	if err != nil {
		return result{}, fmt.Errorf("%s: %w", cfg.Path, err)
	}
	rep, err := recover.Snapshot(ctx, recover.SnapshotOptions{DBPath: t.DB, Dir: t.Snapshots(), Keep: keep,
		BusyTimeout: a.busyTimeout(), Now: a.Now})
	var de *recover.DamagedError
	switch {
	case errors.Is(err, recover.ErrEmptyBoard):
		if !c.json {
			a.out("%s: %s; nothing to snapshot", t.Describe(), emptyVerdict(rep.BoardBytes))
		}
		rep.Error = ""
		return result{obj: snapshotJSON{Board: t.SlugOrNil(), SnapshotReport: rep}}, nil
	case errors.Is(err, recover.ErrNoBoard):
		err = fmt.Errorf("no board database at %s", t.DB)
	case errors.As(err, &de):
		err = fmt.Errorf("%w. To repair it run: %s", err, t.RepairCommand())
	default:
		err = nameResolve(t, err)
	}
	if err != nil {
		rep.Error = oneLine(err.Error())
	} else if !c.json {
		a.printSnapshot(t, rep)
	}
	return result{obj: snapshotJSON{Board: t.SlugOrNil(), SnapshotReport: rep}}, err
}

// printSnapshot is one line for a snapshot taken, and its notes.
func (a *App) printSnapshot(t target, r *recover.SnapshotReport) {
	a.out("%s: snapshot taken: %s (%s, %d tasks, integrity_check %s, %s); %d kept, %d pruned",
		t.Describe(), r.Path, mibs(r.Bytes), r.Tasks, r.IntegrityCheck,
		(time.Duration(r.DurationMS) * time.Millisecond).Round(time.Millisecond), len(r.Kept), len(r.Pruned))
	a.printNotes(r.Notes)
}

func mibs(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
