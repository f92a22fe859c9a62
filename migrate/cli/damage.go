package cli

import (
	"errors"
	"fmt"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/sqlitefile"
	"github.com/kanbanshim/kanbanshim/migrate"
)

// emptyNote is what every verb says about a zero-byte database file: it is
// not damaged, kanban initialises it on first use.
const emptyNote = "empty database file (0 bytes): kanban initialises it on first use"

// explain turns a failure on t into one line that ends in the command
// that repairs the board: damage found by the open-time checks is
// recorded (damage marker, forensic snapshot in t's quarantine) like
// kanban records it; a file that is not SQLite at all gets the command
// that moves it into quarantine and starts a fresh board.
func (a *App) explain(t target, err error) error {
	var de *migrate.DamageError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &de):
		snap, serr := board.QuarantineCopy(t.DB, t.Quarantine(), "detected", a.now())
		if serr != nil || snap == "" {
			snap = "<backup failed>"
		}
		_, _, _ = board.RecordDamage(t.DB, board.Damage{Seen: de.Detail, Snapshot: snap})
		return fmt.Errorf("%s: damaged: %w. Original preserved; backup at %s. To repair it run: %s", t.DB, err, snap, t.RepairCommand())
	case errors.Is(err, migrate.ErrNotSQLite):
		if sqlitefile.NotADatabase(t.DB, board.WAL(t.DB)) {
			return fmt.Errorf("%w; nothing in it can be salvaged. To move it into quarantine and start a fresh board run: %s", err, t.RepairCommand(board.FreshFlag))
		}
		return fmt.Errorf("%w. To repair it run: %s", err, t.RepairCommand())
	case errors.Is(err, migrate.ErrDamaged), errors.Is(err, migrate.ErrSwapPending):
		return fmt.Errorf("%w. To repair it run: %s", err, t.RepairCommand())
	}
	return err
}
