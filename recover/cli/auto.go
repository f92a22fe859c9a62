package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/recover"
)

type autoVerb struct {
	jsonFlag
	snapshotChoice
	quick bool
	fresh bool
}

func (c *autoVerb) flags(fs *pflag.FlagSet) {
	c.jsonFlag.register(fs)
	c.snapshotChoice.register(fs)
	fs.BoolVar(&c.quick, "quick", false, "check with quick_check instead of integrity_check (misses index-content damage)")
	fs.BoolVar(&c.fresh, "fresh", false, "when nothing can be salvaged (not a SQLite file), quarantine it and start a fresh board")
}

func (c *autoVerb) args(args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	return c.snapshotChoice.validate()
}

// autoJSON is auto's --json object.
type autoJSON struct {
	Board *string `json:"board"`
	*recover.AutoReport
}

// run is check → REINDEX or salvage → verify → diff → swap → check, with
// a one-screen report.
func (c *autoVerb) run(ctx context.Context, a *App, t target) (result, error) {
	dir, snap, err := c.source(a, t)
	if err != nil {
		return result{}, err
	}
	rep, err := recover.Auto(ctx, recover.AutoOptions{DBPath: t.DB, QuarantineDir: t.Quarantine(), Quick: c.quick,
		LeaseTimeout: a.leaseTimeout(), BusyTimeout: a.busyTimeout(), JournalMode: a.journalMode(),
		Progress: a.progress(), Now: a.Now, SnapshotDir: dir, SnapshotPath: snap, Fresh: c.fresh})
	switch {
	case errors.Is(err, recover.ErrBoardBusy):
		flags := []string{}
		if c.fresh {
			flags = append(flags, board.FreshFlag)
		}
		err = fmt.Errorf("%w, then run %s again", err, t.RepairCommand(flags...))
	case errors.Is(err, recover.ErrNothingToSalvage):
		err = fmt.Errorf("%w. To move it into quarantine and start a fresh board run: %s", err, t.RepairCommand(board.FreshFlag))
	default:
		err = nameResolve(t, err)
	}
	if rep != nil && err != nil {
		rep.Error = oneLine(err.Error())
	}
	if !c.json && rep != nil {
		a.printAuto(t, rep)
	}
	return result{obj: autoJSON{Board: t.SlugOrNil(), AutoReport: rep}}, err
}

// printAuto is auto's one-screen report.
func (a *App) printAuto(t target, r *recover.AutoReport) {
	switch r.Status {
	case recover.StatusMissing:
		a.out("%s: no database; nothing to do", t.Describe())
		a.printNotes(r.Notes)
		return
	case recover.StatusEmpty:
		a.out("%s: %s; nothing to repair", t.Describe(), emptyVerdict(r.Check.FileSize))
		return
	case recover.StatusHealthy:
		a.out("%s: healthy (%s); nothing to repair", t.Describe(), r.Check.Mode)
		a.printNotes(r.Notes)
		return
	case recover.StatusRepaired:
		restored := ""
		if r.Restored != nil && r.Restored.RowsRestored > 0 {
			restored = " (restored from a snapshot: " + r.Restored.Headline() + ")"
		}
		switch {
		case r.Action == recover.ActionFresh:
			a.out("%s: started fresh: nothing could be salvaged; the file is kept in quarantine", t.Describe())
		case r.WithLoss:
			a.out("%s: repaired with loss: %s%s", t.Describe(), r.Loss.Headline(), restored)
		default:
			a.out("%s: repaired%s", t.Describe(), restored)
		}
	default:
		a.out("%s: NOT repaired (%s); the board is unchanged", t.Describe(), r.Status)
	}
	if r.Check != nil {
		a.out("  check:    DAMAGED (%s), %d problem(s)", r.Check.Mode, len(r.Check.Problems))
		a.printProblems("            ", r.Check.Problems[:min(3, len(r.Check.Problems))])
	}
	if ri := r.Reindex; ri != nil {
		a.out("  reindex:  %s (%s); pre-repair copy %s", strings.Join(ri.Reindexed, ", "), ri.Status, orNone(ri.BackupPath))
	}
	if s := r.Salvage; s != nil {
		a.out("  salvage:  %d rows recovered (%d partial), %d in lost_and_found, %d unreadable page(s); schema from %s",
			s.RowsRecovered, s.RowsPartial, s.LostAndFound, s.UnreadablePages, s.SchemaSource)
		if s.Restored != nil {
			a.out("  restored: %s", s.Restored.Summary())
		}
		a.printLoss("  loss:     ", s.Loss, r.Diff == nil)
	}
	if d := r.Diff; d != nil {
		a.out("  diff:     %s", diffSummary(d))
	}
	if s := r.Swap; s != nil && s.Swapped {
		a.out("  swap:     swapped in; the original is kept in %s/", s.Quarantine)
	}
	if d := r.MarkerCleared; d != nil && r.Status == recover.StatusRepaired {
		a.out("  marker:   cleared (%s)", d.Summary())
	}
	if c := r.After; c != nil {
		verdict := "healthy"
		if n := len(c.Problems); n > 0 {
			verdict = fmt.Sprintf("file healthy; %d schema/invariant problem(s), see the notes", n)
			if left := storageLeft(c); left > 0 {
				verdict = fmt.Sprintf("%d problem(s) left", left)
			}
		}
		a.out("  after:    %s (%s)", verdict, c.Mode)
	}
	a.printNotes(r.Notes)
	if r.Status != recover.StatusRepaired && r.Marker != nil {
		a.out("  marker:   the board stays marked damaged (%s); kanban writes nothing to it until it is repaired", r.Marker.Summary())
	}
}

// storageLeft counts the problems of the file itself (not schema drift or
// invariants) a check still reports.
func storageLeft(c *recover.CheckReport) int {
	n := 0
	for _, p := range c.Problems {
		if p.Kind != recover.KindSchema && p.Kind != recover.KindInvariant {
			n++
		}
	}
	return n
}

func (a *App) printNotes(notes []string) {
	for _, n := range notes {
		a.out("  note: %s", n)
	}
}

// diffSummary is one line: the tables that differ, or "no differences",
// then what was lost (see diffVerdict).
func diffSummary(d *recover.DiffReport) string {
	var parts []string
	same := 0
	for _, t := range d.Tables {
		if t.OnlyOld+t.OnlyNew+t.Changed == 0 {
			same += t.Same
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %d only-old, %d only-new, %d changed", t.Table, t.OnlyOld, t.OnlyNew, t.Changed))
	}
	return diffVerdict(d, fmt.Sprintf("no differences (%d rows the same)", same), strings.Join(parts, "; "))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
