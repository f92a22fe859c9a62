package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/recover"
)

// maxShown caps the problems listed in text output.
const maxShown = 10

type checkVerb struct {
	jsonFlag
	full bool
}

func (c *checkVerb) flags(fs *pflag.FlagSet) {
	c.jsonFlag.register(fs)
	fs.BoolVar(&c.full, "full", false, "run integrity_check (also cross-checks index contents) instead of quick_check")
}

func (c *checkVerb) args(args []string) error { return noArgs(args) }

func noArgs(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument '%s'", args[0])
	}
	return nil
}

// checkJSON is check's --json object: the board and the CheckReport.
type checkJSON struct {
	Board   *string `json:"board"`
	Missing bool    `json:"missing,omitempty"`
	*recover.CheckReport
}

// run checks a copy of the board; it never changes the board or takes a
// lock, only its damage marker (recover.CheckAndMark). Damage is exit
// code 3, not an error.
func (c *checkVerb) run(ctx context.Context, a *App, t target) (result, error) {
	if t.Missing {
		if !c.json {
			a.out("%s: no database yet; nothing to check", t.Describe())
		}
		return result{obj: checkJSON{Board: t.SlugOrNil(), Missing: true, CheckReport: &recover.CheckReport{DBPath: t.DB}}}, nil
	}
	rep, err := recover.CheckAndMark(ctx, recover.CheckOptions{DBPath: t.DB, Full: c.full})
	if errors.Is(err, recover.ErrNoBoard) {
		return result{}, fmt.Errorf("could not check %s: no board database there", t.DB)
	}
	if err != nil {
		return result{}, fmt.Errorf("could not check %s: %w", t.DB, err)
	}
	if !c.json {
		a.printCheck(t, rep)
	}
	res := result{obj: checkJSON{Board: t.SlugOrNil(), CheckReport: rep}}
	if !rep.Healthy {
		res.code = ExitDamaged
	}
	return res, nil
}

// printCheck is check's text output: a verdict line, the problems, the
// warnings, and the command that repairs the board.
func (a *App) printCheck(t target, r *recover.CheckReport) {
	if r.Empty {
		a.out("%s: %s", t.Describe(), emptyVerdict(r.FileSize))
		return
	}
	if r.Healthy {
		a.out("%s: healthy (%s)", t.Describe(), r.Mode)
	} else {
		a.out("%s: DAMAGED (%s), %d problem(s):", t.Describe(), r.Mode, len(r.Problems))
		a.printProblems("  ", r.Problems)
	}
	for _, w := range r.Warnings {
		a.out("  warning: %s: %s", w.Kind, w.Detail)
	}
	if d := r.MarkerCleared; d != nil {
		a.out("cleared the stale damage marker (%s): kanban writes to the board again", d.Summary())
	} else if d := r.Marker; d != nil {
		a.out("  marked damaged (%s): kanban writes nothing to the board until it is repaired", d.Summary())
	}
	switch {
	case r.FreshOnly():
		a.out("To move it into quarantine and start a fresh board run: %s", t.RepairCommand(board.FreshFlag))
	case !r.Healthy || r.Marker != nil:
		a.out("To repair it run: %s", t.RepairCommand())
	}
}

// emptyVerdict is what check, auto and snapshot say about a board with
// nothing in it (a file of size bytes): not damaged, kanban initialises
// it on first use.
func emptyVerdict(size int64) string {
	if size > 0 {
		return "empty (no tables): not a board yet; kanban initialises it on first use"
	}
	return "empty (0 bytes): not a board yet; kanban initialises it on first use"
}

func (a *App) printProblems(indent string, ps []recover.Problem) {
	for i, p := range ps {
		if i == maxShown {
			a.out("%s... and %d more (--json lists them all)", indent, len(ps)-maxShown)
			break
		}
		a.out("%s%s: %s", indent, p.Kind, p.Detail)
	}
}
