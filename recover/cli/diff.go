package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/recover"
)

// maxKeysShown caps the keys listed per table in diff's text output.
const maxKeysShown = 5

type diffVerb struct {
	jsonFlag
	old, new string
	snapshot bool // compare the selected board with a snapshot of it
}

func (c *diffVerb) flags(fs *pflag.FlagSet) {
	c.jsonFlag.register(fs)
	fs.BoolVar(&c.snapshot, "snapshot", false, "compare the board (--board, --db) with its newest snapshot, or with the SNAPSHOT given")
}

func (c *diffVerb) args(args []string) error {
	if c.snapshot {
		if len(args) > 1 {
			return errors.New("diff --snapshot takes at most one snapshot: diff --snapshot [SNAPSHOT]")
		}
		if len(args) == 1 {
			c.old = args[0]
		}
		return nil
	}
	if len(args) != 2 {
		return errors.New("two boards are required: diff OLD NEW (or diff --snapshot [SNAPSHOT])")
	}
	c.old, c.new = args[0], args[1]
	return nil
}

// wantsBoard: diff --snapshot acts on the selected board.
func (c *diffVerb) wantsBoard() bool { return c.snapshot }

// diffSnapshotJSON is diff --snapshot's --json object: the board, the
// snapshot and when it was taken, then the DiffReport (old: the
// snapshot, new: the board).
type diffSnapshotJSON struct {
	Board           *string   `json:"board"`
	Snapshot        string    `json:"snapshot"`
	SnapshotTakenAt time.Time `json:"snapshot_taken_at"`
	*recover.DiffReport
}

// runSnapshot compares the board with its newest snapshot (or the one
// named): what changed since the last good copy. Both are read from
// copies.
func (c *diffVerb) runSnapshot(ctx context.Context, a *App, t target) (result, error) {
	snap, taken := c.old, time.Time{}
	if snap == "" {
		var err error
		if snap, taken, err = recover.LatestSnapshot(t.Snapshots(), t.DB); err != nil {
			if errors.Is(err, recover.ErrNoSnapshot) {
				return result{}, fmt.Errorf("%s has no snapshot in %s (kanban-recover snapshot takes one)", t.Describe(), t.Snapshots())
			}
			return result{}, err
		}
	} else {
		abs, err := filepath.Abs(a.Env.ExpandUser(snap))
		if err != nil {
			return result{}, err
		}
		snap, taken = abs, recover.SnapshotTakenAt(abs)
	}
	d, err := recover.Diff(ctx, snap, t.DB)
	if err != nil {
		return result{}, err
	}
	if !c.json {
		when := "taken at an unknown time"
		if !taken.IsZero() {
			when = "taken " + taken.UTC().Format(time.RFC3339) + ", " + recover.Age(a.now().Sub(taken)) + " old"
		}
		a.out("%s against snapshot %s (%s); old = the snapshot, new = the board", t.Describe(), snap, when)
		a.printDiff(d)
	}
	return result{obj: diffSnapshotJSON{Board: t.SlugOrNil(), Snapshot: snap, SnapshotTakenAt: taken.UTC(), DiffReport: d}}, nil
}

// run compares two boards row by row; differences are not a failure.
func (c *diffVerb) run(ctx context.Context, a *App, t target) (result, error) {
	if c.snapshot {
		return c.runSnapshot(ctx, a, t)
	}
	paths := [2]string{}
	for i, p := range []string{c.old, c.new} {
		abs, err := filepath.Abs(a.Env.ExpandUser(p))
		if err != nil {
			return result{}, err
		}
		paths[i] = abs
	}
	d, err := recover.Diff(ctx, paths[0], paths[1])
	if err != nil {
		return result{}, err
	}
	if !c.json {
		a.printDiff(d)
	}
	return result{obj: d}, nil
}

// printDiff is diff's text: a line per table, the first keys of each kind
// of difference, how each side was read, and a verdict.
func (a *App) printDiff(d *recover.DiffReport) {
	d.Text(a.Stdout)
	differ := 0
	for _, t := range d.Tables {
		if t.OnlyOld+t.OnlyNew+t.Changed == 0 {
			continue
		}
		differ++
		for _, k := range []struct {
			name string
			keys []string
			n    int
		}{{"only-old", t.OnlyOldKeys, t.OnlyOld}, {"only-new", t.OnlyNewKeys, t.OnlyNew}, {"changed", t.ChangedKeys, t.Changed}} {
			if k.n > 0 {
				a.out("  %s %s: %s", t.Table, k.name, keyList(k.keys, k.n))
			}
		}
	}
	for side, by := range map[string]string{"old": d.OldReadBy, "new": d.NewReadBy} {
		if by == recover.ReadBySalvage {
			a.out("the %s board was read by the salvager: SQLite could not read it", side)
		}
	}
	a.printLoss("old: ", d.OldLoss, true)
	a.printLoss("new: ", d.NewLoss, true)
	differs := ""
	if differ > 0 {
		differs = fmt.Sprintf("%d table(s) differ", differ)
	}
	a.out("%s", diffVerdict(d, "no differences", differs))
}

func keyList(keys []string, n int) string {
	shown := keys[:min(len(keys), maxKeysShown)]
	s := strings.Join(shown, ", ")
	if n > len(shown) {
		s += fmt.Sprintf(", … (%d in all)", n)
	}
	return s
}
