package recover

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/lockd"
)

// Auto outcomes (AutoReport.Status).
const (
	StatusHealthy     = "healthy"     // nothing to repair
	StatusRepaired    = "repaired"    // reindexed, or salvaged and swapped in
	StatusFailed      = "failed"      // could not repair; the board is untouched
	StatusBusy        = "busy"        // damaged, but other processes have it open
	StatusMaintenance = "maintenance" // another kanban-recover or kanban-migrate holds it
	StatusMissing     = "missing"     // no database file: nothing to do
	StatusEmpty       = "empty"       // a 0-byte file (or no tables): kanban initialises it
)

// Auto actions (AutoReport.Action).
const (
	ActionNone    = "none"
	ActionReindex = "reindex"
	ActionSalvage = "salvage"
	ActionFresh   = "fresh" // nothing to salvage: quarantined, replaced by an empty board (Fresh)
)

// ErrNothingToSalvage means the board's file holds nothing a salvage can
// recover (it is not a SQLite database at all, or no row could be read
// from a large file): Auto leaves it alone unless Fresh is set.
var ErrNothingToSalvage = errors.New("nothing to salvage")

// minSalvageBytes: a file at least this big that yields no rows at all is
// not swapped automatically (the salvager found nothing it recognised,
// which is likelier a reader problem than an empty board).
const minSalvageBytes = 256 << 10

// AutoOptions configures Auto.
type AutoOptions struct {
	DBPath        string
	QuarantineDir string // "" means board.Quarantine.DefaultDir(DBPath)
	// Quick checks with quick_check instead of integrity_check (which
	// also cross-checks index contents, so index-only damage is found).
	Quick        bool
	LeaseTimeout time.Duration // write lease wait (REINDEX, swap)
	BusyTimeout  time.Duration // SQLite busy timeout of the REINDEX connection
	JournalMode  string        // fallback when the header is unreadable, see SwapOptions
	Progress     io.Writer     // salvage progress lines; nil for none
	Now          func() time.Time
	FS           board.FS
	// SnapshotDir and SnapshotPath choose the snapshot a salvage restores
	// lost rows from (see SalvageOptions); both empty: none.
	SnapshotDir  string
	SnapshotPath string
	// Fresh: when the file holds nothing to salvage (ErrNothingToSalvage),
	// move it and its sidecars into a quarantine set (never deleting them)
	// and swap in a fresh, empty board, with the swap's locks and checks.
	Fresh bool
}

// ReindexReport is the in-place REINDEX Auto did for index-only damage.
type ReindexReport struct {
	Status     string   `json:"status"` // Repair's: repaired, corrupt, ok
	Reindexed  []string `json:"reindexed"`
	BackupPath string   `json:"backup_path,omitempty"`
	Messages   []string `json:"post_repair_messages,omitempty"`
}

// AutoReport is what Auto did, shaped for `kanban-recover auto --json`.
type AutoReport struct {
	DBPath  string         `json:"db_path"`
	Status  string         `json:"status"`
	Action  string         `json:"action"`
	Check   *CheckReport   `json:"check,omitempty"`
	Reindex *ReindexReport `json:"reindex,omitempty"`
	Salvage *Report        `json:"salvage,omitempty"`
	Diff    *DiffReport    `json:"diff,omitempty"`
	Swap    *SwapReport    `json:"swap,omitempty"`
	After   *CheckReport   `json:"after,omitempty"` // the check after the repair
	// WithLoss says a repair swapped in a board missing rows, or possibly
	// missing them, and Loss (the salvage's own) what and how many: the
	// status stays "repaired" (exit 0), so scripts read these.
	WithLoss bool  `json:"with_loss"`
	Loss     *Loss `json:"loss,omitempty"`
	// Restored is what the salvage brought back from a verified snapshot
	// (the salvage's own), apart from the rows its pages gave.
	Restored *Restored `json:"restored,omitempty"`
	// Marker is the board's damage marker when Auto ends (nil: none):
	// set while the board stays damaged. MarkerCleared is the marker a
	// verified repair, or a full check finding the file sound, removed.
	Marker        *board.Damage `json:"damage_marker,omitempty"`
	MarkerCleared *board.Damage `json:"damage_marker_cleared,omitempty"`
	Notes         []string      `json:"notes,omitempty"`
	Error         string        `json:"error,omitempty"`
}

// Auto checks the board and, when its file is damaged, repairs it:
// index-only damage with REINDEX in place (a normal write under the
// lease, so it works while others have the board open), anything else by
// salvaging into a fresh file next to the board, diffing it with the
// original, and swapping it in (which refuses while others have the
// board open). A repaired board is checked again. Schema drift and broken
// board invariants are reported, not acted on: a salvage cannot fix them,
// and acting on them would make every run repeat the repair.
//
// It holds <db>.recover.lock for the whole run, so a second Auto (or a
// swap) on the same board fails at once with a *RecoverBusyError. The
// returned error is nil for healthy, repaired and missing; the report's
// Status says which failure it was otherwise.
func Auto(ctx context.Context, o AutoOptions) (*AutoReport, error) {
	a := &auto{o: o, rep: &AutoReport{DBPath: o.DBPath, Status: StatusFailed, Action: ActionNone}}
	if a.o.Now == nil {
		a.o.Now = time.Now
	}
	err := a.run(ctx)
	if a.rep.Status != StatusMissing {
		a.rep.Marker, _ = board.ReadDamage(a.o.DBPath)
	}
	if err != nil {
		a.rep.Error = err.Error()
		switch {
		case errors.Is(err, lockd.ErrMaintenance):
			a.rep.Status = StatusMaintenance
		case errors.Is(err, ErrBoardBusy):
			a.rep.Status = StatusBusy
		default:
			a.rep.Status = StatusFailed
		}
	}
	return a.rep, err
}

type auto struct {
	o    AutoOptions
	rep  *AutoReport
	hash string        // the ContentHash the confirming check was taken at
	full bool          // integrity_check: not --quick, or the board is marked
	seen *board.Damage // the damage marker when Auto began
}

func (a *auto) note(format string, args ...any) {
	a.rep.Notes = append(a.rep.Notes, fmt.Sprintf(format, args...))
}

func (a *auto) swapOptions() SwapOptions {
	return SwapOptions{DBPath: a.o.DBPath, QuarantineDir: a.o.QuarantineDir, LeaseTimeout: a.o.LeaseTimeout,
		JournalMode: a.o.JournalMode, FS: a.o.FS, Now: a.o.Now}
}

func (a *auto) run(ctx context.Context) error {
	if a.o.SnapshotPath != "" {
		// Checked before anything else, not only when a salvage loses
		// rows: a bad path must not go unnoticed on a healthy board.
		if err := CheckSnapshot(ctx, a.o.SnapshotPath); err != nil {
			return err
		}
	}
	if _, err := os.Stat(a.o.DBPath); errors.Is(err, os.ErrNotExist) && board.CheckEmpty(a.o.DBPath) == nil {
		a.rep.Status = StatusMissing
		return a.clearOrphanMarker()
	}
	lk, err := LockRecover(a.o.DBPath)
	if err != nil {
		return err
	}
	defer lk.Close()
	if err := maintenanceHolder(a.o.DBPath); err != nil {
		return err
	}
	if note, err := ResolveSwap(ctx, a.swapOptions()); err != nil {
		return err
	} else if note != "" {
		a.note("%s", note)
	}
	a.removeTemp()
	a.seen, _ = board.ReadDamage(a.o.DBPath)
	a.full = !a.o.Quick || a.seen != nil
	if a.o.Quick && a.seen != nil {
		a.note("the board is marked damaged (%s), so it is checked in full", a.seen.Summary())
	}
	chk, err := Check(ctx, a.checkOptions())
	if err != nil {
		return err
	}
	a.rep.Check = chk
	if chk.Empty {
		a.rep.Status = StatusEmpty
		return nil
	}
	if len(storageProblems(chk)) > 0 {
		if chk, err = a.confirm(ctx); err != nil {
			return err
		}
		if _, err := markDamaged(a.o.DBPath, "kanban-recover auto", chk); err != nil {
			return err
		}
	}
	a.noteSoftProblems(chk)
	if len(storageProblems(chk)) == 0 {
		a.rep.Status = StatusHealthy
		return a.clearStale()
	}
	if chk.Has(KindNotSQLite) {
		return a.startFresh(ctx, "not a SQLite database: no page of it is a b-tree page")
	}
	if chk.Has(KindEmptyDB) {
		return a.salvageAndSwap(ctx, chk.emptyDB)
	}
	if indexOnly(storageProblems(chk)) {
		done, err := a.reindex(ctx)
		if done || err != nil {
			return err
		}
	}
	return a.salvageAndSwap(ctx, nil)
}

// confirm checks a damaged-looking board again between two content
// hashes. A copy of a board being written can be torn (the db copied
// before a checkpoint, the -wal after it) and look damaged; a copy taken
// while the content stayed the same cannot. A board that changed under
// the check is left alone; one that now checks healthy was a torn copy.
func (a *auto) confirm(ctx context.Context) (*CheckReport, error) {
	chk, hash, err := confirmCheck(ctx, a.checkOptions())
	if err != nil {
		return nil, err
	}
	if len(storageProblems(chk)) == 0 {
		a.note("a first check saw damage that a second did not (a copy torn by a concurrent write); nothing to repair")
	}
	a.rep.Check, a.hash = chk, hash
	return chk, nil
}

func (a *auto) checkOptions() CheckOptions { return CheckOptions{DBPath: a.o.DBPath, Full: a.full} }

// clearStale removes the damage marker of a board a full check found
// sound, if it is the marker that was there when Auto began.
func (a *auto) clearStale() error {
	if !a.full || a.seen == nil {
		return nil
	}
	cleared, err := board.ClearStaleDamage(a.o.DBPath, a.seen)
	if err != nil {
		return fmt.Errorf("clear the damage marker: %w", err)
	}
	if cleared {
		a.rep.MarkerCleared = a.seen
		a.note("cleared a stale damage marker (%s): the file checks sound", a.seen.Summary())
	}
	return nil
}

// clearOrphanMarker removes the damage marker of a board whose database
// is gone (moved away by hand): there is nothing left to protect, and
// kanban, which refuses to create a board where a marker says one was
// damaged, may start a new one.
func (a *auto) clearOrphanMarker() error {
	d, _ := board.ReadDamage(a.o.DBPath)
	if d == nil {
		return nil
	}
	if err := board.ClearDamage(a.o.DBPath); err != nil {
		return fmt.Errorf("clear the damage marker: %w", err)
	}
	a.rep.MarkerCleared = d
	a.note("cleared the damage marker of a board whose database is gone (%s); kanban starts a new, empty board on its next use", d.Summary())
	return nil
}

// clearRepaired removes the damage marker after a verified repair.
func (a *auto) clearRepaired() error {
	d, _ := board.ReadDamage(a.o.DBPath)
	if d == nil {
		if a.rep.Swap != nil && a.rep.Swap.MarkerCleared != nil {
			a.rep.MarkerCleared = a.rep.Swap.MarkerCleared // the swap did it
		}
		return nil
	}
	if err := board.ClearDamage(a.o.DBPath); err != nil {
		return fmt.Errorf("repaired, but the damage marker could not be cleared: %w", err)
	}
	a.rep.MarkerCleared = d
	return nil
}

// storageProblems are the problems of the file itself, which a REINDEX
// or a salvage repairs (everything but schema drift and invariants).
func storageProblems(r *CheckReport) []Problem {
	var out []Problem
	for _, p := range r.Problems {
		if p.Kind != KindSchema && p.Kind != KindInvariant {
			out = append(out, p)
		}
	}
	return out
}

// indexOnly reports whether every problem is confined to an index.
func indexOnly(ps []Problem) bool {
	for _, p := range ps {
		if !p.Index {
			return false
		}
	}
	return len(ps) > 0
}

// noteSoftProblems says what to run for the problems Auto leaves alone.
func (a *auto) noteSoftProblems(r *CheckReport) {
	schema, inv := 0, 0
	for _, p := range r.Problems {
		switch p.Kind {
		case KindSchema:
			schema++
		case KindInvariant:
			inv++
		}
	}
	if schema > 0 {
		a.note("the schema differs from the current one in %d place(s); `kanban-migrate apply` brings it up to date", schema)
	}
	if inv > 0 {
		a.note("%d board invariant(s) do not hold (e.g. running tasks without an open run); the next `kanban dispatch` tick reclaims stale claims", inv)
	}
}

// maintenanceHolder fails with lockd.ErrMaintenance when the write lease
// is held right now by a maintenance tool (kanban-migrate, or a swap), so
// Auto does not check a board that is being rewritten.
func maintenanceHolder(db string) error {
	held, _, err := lockd.LockState(board.LeasePath(db))
	if err != nil || !held {
		return nil
	}
	h, ok, err := lockd.ReadHolder(db)
	if err != nil || !ok || !h.Maintenance {
		return nil
	}
	return &maintenanceError{h}
}

// maintenanceError names the maintenance tool holding the lease, in the
// words lockd's BusyError uses.
type maintenanceError struct{ h lockd.Holder }

func (e *maintenanceError) Error() string {
	return fmt.Sprintf("board under maintenance by %s (pid %d) since %s", e.h.Tool, e.h.PID, e.h.Since.UTC().Format(time.RFC3339))
}

func (e *maintenanceError) Unwrap() error { return lockd.ErrMaintenance }

// salvagePath is where Auto writes the salvaged board: next to the live
// one, so the swap is a rename in the same directory.
func salvagePath(db string) string { return board.SalvagePath(db) }

// removeTemp removes what an earlier, interrupted Auto left.
func (a *auto) removeTemp() {
	if board.SwapPending(a.o.DBPath) {
		return // an interrupted swap may be staging from it; its resolve decides
	}
	for _, suf := range []string{"", ".tmp", board.WALSuffix, board.SHMSuffix, ".tmp" + board.WALSuffix, ".tmp" + board.SHMSuffix} {
		_ = os.Remove(salvagePath(a.o.DBPath) + suf)
	}
}

// reindex rebuilds damaged indexes in place, like `kanban repair`. done is
// true when that repaired the board; false means the damage was not
// index-only after all and a salvage follows.
func (a *auto) reindex(ctx context.Context) (done bool, err error) {
	res, err := Repair(ctx, a.o.DBPath, RepairOptions{BusyTimeout: a.o.BusyTimeout,
		LeaseTimeout: a.o.LeaseTimeout, QuarantineDir: a.quarantineDir(), Now: a.o.Now})
	if err != nil {
		return false, fmt.Errorf("reindex: %w", err)
	}
	a.rep.Reindex = &ReindexReport{Status: res.Status, Reindexed: res.Reindexed, BackupPath: res.BackupPath, Messages: res.PostRepair}
	a.rep.MarkerCleared = res.MarkerCleared
	if res.Status != RepairRepaired && res.Status != RepairOK {
		a.note("REINDEX did not repair the board (%s); salvaging instead", res.Status)
		return false, nil
	}
	a.rep.Action = ActionReindex
	return true, a.recheck(ctx)
}

func (a *auto) quarantineDir() string {
	if a.o.QuarantineDir != "" {
		return a.o.QuarantineDir
	}
	return board.Quarantine.DefaultDir(a.o.DBPath)
}

// recheck checks the repaired board; storage problems left mean failure.
func (a *auto) recheck(ctx context.Context) error {
	after, err := Check(ctx, a.checkOptions())
	if err != nil {
		return fmt.Errorf("check after repair: %w", err)
	}
	a.rep.After = after
	if left := storageProblems(after); len(left) > 0 {
		return fmt.Errorf("the board is still damaged after the repair: %s: %s", left[0].Kind, left[0].Detail)
	}
	a.rep.Status = StatusRepaired
	return a.clearRepaired()
}

// salvageAndSwap is the full repair: refuse early while the board is
// open, salvage, diff, swap (which verifies the salvage and refuses if the
// board changed since the confirming check), check again.
//
// empty is set for a board whose database is missing or 0 bytes while its
// -wal or -journal holds data (KindEmptyDB). A -wal's committed frames
// are whole pages: the salvage reads the newest committed frame of each
// page, the pages no frame holds were the lost file's and count as loss,
// and the -wal goes into the quarantine set with the swap. A -journal
// holds only the pages a transaction was about to change, not a board; a
// -wal with no committed frame, or none that yields a row, holds nothing
// either: startFresh.
func (a *auto) salvageAndSwap(ctx context.Context, empty *board.EmptyDBError) error {
	why := ""
	if empty != nil {
		why = empty.Detail()
		if empty.Suffix == board.JournalSuffix {
			return a.startFresh(ctx, why+"; a -journal holds only the old copies of the pages a transaction was changing, not a board")
		}
	}
	if err := a.refuseBusy(); err != nil {
		return err
	}
	out := salvagePath(a.o.DBPath)
	defer a.removeTemp()
	sal, err := Salvage(ctx, SalvageOptions{DBPath: a.o.DBPath, OutPath: out, Progress: a.o.Progress, Now: a.o.Now,
		SnapshotDir: a.o.SnapshotDir, SnapshotPath: a.o.SnapshotPath})
	switch {
	case empty != nil && errors.Is(err, ErrNotDatabase):
		return a.startFresh(ctx, why+", and it holds no committed SQLite page")
	case err != nil:
		return err
	}
	a.rep.Salvage, a.rep.Loss, a.rep.Restored = sal, sal.Loss, sal.Restored
	if sal.RowsRecovered == 0 && (empty != nil || sal.FileSize >= minSalvageBytes) {
		if empty != nil {
			why += ", and no row can be read from it"
		} else {
			why = fmt.Sprintf("the salvage recovered no rows from a %d-byte file (inspect it with `kanban-recover salvage` and `diff`)", sal.FileSize)
		}
		a.removeTemp()
		if err := a.startFresh(ctx, why); err != nil {
			return err
		}
		a.rep.WithLoss = true // whatever the board held is not on the fresh board
		return nil
	}
	if empty == nil {
		if d, err := Diff(ctx, a.o.DBPath, out); err != nil {
			a.note("diff: %v", err)
		} else {
			a.rep.Diff = d
		}
	}
	if err := a.swapIn(ctx, out, ActionSalvage); err != nil {
		return err
	}
	if empty != nil {
		a.note("the board was rebuilt from its %s alone (%d of the %d pages of its last commit); the pages no frame held were in the database file, which is gone",
			empty.Suffix, sal.PagesFromWAL, sal.WAL.DBSize)
	}
	a.rep.WithLoss = sal.Loss.Lossy()
	return nil
}

// NothingToSalvageError says why a board holds nothing to salvage.
type NothingToSalvageError struct{ Why string }

func (e *NothingToSalvageError) Error() string { return e.Why + ": nothing to salvage" }

// Unwrap matches ErrNothingToSalvage.
func (e *NothingToSalvageError) Unwrap() error { return ErrNothingToSalvage }

// startFresh replaces a board that holds nothing to salvage with a fresh,
// empty one (Fresh), through the same swap a salvage goes through: the
// file and its sidecars go into a quarantine set, never deleted, and the
// swap refuses while other processes hold the board. Without Fresh it
// fails with a *NothingToSalvageError and changes nothing.
func (a *auto) startFresh(ctx context.Context, why string) error {
	if !a.o.Fresh {
		return &NothingToSalvageError{Why: why}
	}
	if err := a.refuseBusy(); err != nil {
		return err
	}
	out := salvagePath(a.o.DBPath)
	defer a.removeTemp()
	if _, err := writeOutput(ctx, &Extraction{}, nil, out, a.o.Now(), nil); err != nil {
		return fmt.Errorf("create a fresh board: %w", err)
	}
	if err := a.swapIn(ctx, out, ActionFresh); err != nil {
		return err
	}
	a.note("started fresh: %s", why)
	return nil
}

// swapIn swaps the board at out in (verified, refused if the board changed
// since the confirming check) as action, and checks the result.
func (a *auto) swapIn(ctx context.Context, out, action string) error {
	so := a.swapOptions()
	so.NewPath, so.ExpectHash = out, a.hash
	sw, err := Swap(ctx, so)
	a.rep.Swap = sw
	if err != nil {
		return err
	}
	a.rep.Action = action
	return a.recheck(ctx)
}

// refuseBusy fails fast, before the salvage, when the swap would refuse:
// other processes have the board open (the swap checks again).
func (a *auto) refuseBusy() error {
	g, err := lockd.TryExclusive(a.o.DBPath)
	busy := errors.Is(err, lockd.ErrBoardInUse)
	if err != nil && !busy {
		return err
	}
	g.Close()
	if ops := openers(a.o.DBPath, busy); len(ops) > 0 {
		return &BoardBusyError{Path: a.o.DBPath, Openers: ops}
	}
	return nil
}
