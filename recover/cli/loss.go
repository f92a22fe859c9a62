package cli

import (
	"strings"

	"github.com/kanbanshim/kanbanshim/recover"
)

// diffVerdict is the last word on a diff. When both sides were read in
// full it is clean ("no differences") or differs ("2 table(s) differ").
// When a side had pages the salvager could not read, it never says "no
// differences": it says what the readable rows show, then what was lost.
//
// Unreadable pages that held no rows (an interior page whose leaves were
// all found again, as a complete index shows) change nothing here: the
// detail lines above the verdict name them.
func diffVerdict(d *recover.DiffReport, clean, differs string) string {
	if !d.OldLoss.Lossy() && !d.NewLoss.Lossy() {
		if differs == "" {
			return clean
		}
		return differs
	}
	parts := []string{"0 rows differ among readable rows"}
	if differs != "" {
		parts[0] = differs + " among readable rows"
	}
	if d.OldLoss.Lossy() {
		parts = append(parts, d.OldLoss.Summary())
	}
	if d.NewLoss.Lossy() {
		parts = append(parts, "new board: "+d.NewLoss.Summary())
	}
	return strings.Join(parts, "; ")
}

// printLoss prints a loss's detail lines, each after prefix.
func (a *App) printLoss(prefix string, l *recover.Loss, withKeys bool) {
	for _, line := range l.Lines(withKeys) {
		a.out("%s%s", prefix, line)
	}
}
