package migrate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/proc"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/lockd"
)

// Sentinel errors of Upgrade.
var (
	// ErrEmptyBoard is a zero-byte database: there is nothing to migrate,
	// and creating a board (and choosing its journal mode) is kanban's job:
	// kanban initialises it on first use.
	ErrEmptyBoard = errors.New("empty database file")
	// ErrDamaged is a board that fails quick_check before migration.
	ErrDamaged = errors.New("board is damaged")
	// ErrInitBusy is an init lock held by another process past the wait.
	ErrInitBusy = errors.New("board is being initialised or migrated by another process")
)

// MaintenanceTool is the holder name kanban-migrate writes into the lease.
const MaintenanceTool = "kanban-migrate"

// UpgradeOptions configure Upgrade.
type UpgradeOptions struct {
	Now         time.Time // clock for synthesized runs and the backup name
	BackupDir   string    // where pre-migrate backups go; "" skips the backup
	Journal     string    // "" or "keep", "wal", "delete"
	Force       bool      // switch to WAL despite an affected Python peer
	Peer        func(ctx context.Context) Peer
	NetworkFS   func(dir string) (name string, network bool)
	LockTimeout time.Duration // wait for the init lock and the lease (<= 0: 30 s)
	BusyTimeout time.Duration // SQLite busy timeout (<= 0: 120 s)
	Hooks       *Hooks        // tests only
	// Board is the board's slug, for the repair command a refusal names
	// ("" for a database named by path).
	Board string
}

// Report is what Upgrade did.
type Report struct {
	DB            string `json:"db_path"`
	Steps         []Step `json:"steps"`
	Backup        string `json:"backup"`
	JournalBefore string `json:"journal_mode_before"`
	JournalAfter  string `json:"journal_mode_after"`
	NothingToDo   bool   `json:"nothing_to_do"`
	Restored      bool   `json:"restored"`
}

// upgrade is one run of Upgrade.
type upgrade struct {
	path string
	o    UpgradeOptions
	b    *Board
	rep  *Report
	read bool // only planning: open as OpenBoardRead
}

// Upgrade brings the board at path to the current schema, the explicit
// and observable way: under the init lock and the write lease held as a
// maintenance tool, it refuses a damaged or foreign file, plans, takes an
// online backup, runs every step in one transaction that is verified
// (integrity_check, schema conformity) before it commits, verifies again
// after the commit (restoring the backup if that fails), and finally
// changes the journal mode when asked and nobody else has the file open.
// Any failure before the commit leaves the board untouched.
func Upgrade(ctx context.Context, path string, o UpgradeOptions) (*Report, error) {
	to, err := normJournal(o.Journal)
	if err != nil {
		return nil, err
	}
	o.Journal = to
	if o.LockTimeout <= 0 {
		o.LockTimeout = lockd.DefaultLeaseTimeout
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 120 * time.Second
	}
	u := &upgrade{path: path, o: o, rep: &Report{DB: path}}
	if err := u.open(ctx); err != nil {
		return nil, u.damaged(err)
	}
	defer u.b.Close()
	unlock, err := lockBoard(ctx, path, o.LockTimeout)
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Under the lock, before anything is planned or written: a board
	// marked damaged is repaired first, never migrated.
	if err := board.Refuse(path, o.Board); err != nil {
		return nil, err
	}
	return u.rep, u.damaged(u.run(ctx))
}

// damaged is the package's damaged() that also records the board's
// damage marker, so every kanbanshim process stops writing it. Damage
// the open-time checks found (*DamageError) is recorded by the command
// line, with its forensic snapshot.
func (u *upgrade) damaged(err error) error {
	err = damaged(err)
	var de *DamageError
	if errors.Is(err, ErrDamaged) && !errors.As(err, &de) {
		_, _, _ = board.RecordDamage(u.path, board.Damage{Seen: "kanban-migrate: " + err.Error()})
	}
	return err
}

// damaged marks SQLite's corruption errors as ErrDamaged (the command
// line names the repair command).
func damaged(err error) error {
	if err != nil && !errors.Is(err, ErrDamaged) && sqlx.IsCorrupt(err) {
		return fmt.Errorf("%w (%w)", ErrDamaged, err)
	}
	return err
}

// open opens the board (the open guard shared, like any kanbanshim
// process).
func (u *upgrade) open(ctx context.Context) error {
	open := OpenBoard
	if u.read {
		open = func(ctx context.Context, path string, _ bool, busy time.Duration) (*Board, error) {
			return OpenBoardRead(ctx, path, busy)
		}
	}
	b, err := open(ctx, u.path, false, u.o.BusyTimeout)
	if err != nil {
		return err
	}
	if b.Empty {
		b.Close()
		return fmt.Errorf("%s: %w", u.path, ErrEmptyBoard)
	}
	u.b = b
	return nil
}

func (u *upgrade) run(ctx context.Context) error {
	c := u.b.Conn
	mode, err := JournalMode(c)
	if err != nil {
		return err
	}
	u.rep.JournalBefore, u.rep.JournalAfter = mode, mode
	change := u.o.Journal != "" && u.o.Journal != mode
	if change {
		if err := u.journalPolicy(ctx, mode, u.o.Journal); err != nil {
			return err
		}
		// Held from here to the switch: no kanbanshim process can open
		// the board meanwhile.
		if err := u.b.Exclusive(); err != nil {
			return &JournalError{From: mode, To: u.o.Journal, Reason: "other kanbanshim processes have the board open: " + err.Error()}
		}
	}
	steps, err := u.preflight(ctx)
	if err != nil {
		return err
	}
	if len(steps) == 0 && !change {
		u.rep.NothingToDo = true
		return nil
	}
	if change {
		if err := othersOpen(u.path, mode, u.o.Journal); err != nil {
			return err
		}
	}
	if len(steps) > 0 {
		if err := u.migrate(ctx); err != nil {
			return err
		}
	}
	if change {
		if err := u.switchJournal(mode); err != nil {
			if len(u.rep.Steps) > 0 {
				return fmt.Errorf("the schema was migrated, but the journal mode was not changed: %w", err)
			}
			return err
		}
	}
	return nil
}

// preflight refuses damaged and foreign files and returns the plan.
func (u *upgrade) preflight(ctx context.Context) ([]Step, error) {
	c := u.b.Conn
	msgs, err := QuickCheck(c)
	if err != nil {
		return nil, err
	}
	if len(msgs) > 0 {
		return nil, fmt.Errorf("%w (quick_check: %s)", ErrDamaged, strings.Join(msgs, "; "))
	}
	if err := refuseForeign(ctx, c); err != nil {
		return nil, err
	}
	return Plan(ctx, c, u.planOptions())
}

func (u *upgrade) planOptions() Options { return Options{Full: true, Now: u.o.Now.Unix()} }

// migrate backs up, applies in one verified transaction, and re-verifies
// after the commit, restoring the backup when that last check fails.
func (u *upgrade) migrate(ctx context.Context) error {
	c := u.b.Conn
	if u.o.BackupDir != "" {
		p, err := Backup(ctx, c, u.path, u.o.BackupDir, u.o.Now)
		if p != "" {
			u.rep.Backup = p
		}
		if err != nil && p == "" {
			return err
		}
	}
	if err := u.o.Hooks.at(ctx, PointAfterBackup); err != nil {
		return err
	}
	steps, err := applyTx(ctx, c, u.planOptions(), true, u.o.Hooks)
	if err != nil {
		return err
	}
	u.b.MarkWritten()
	u.rep.Steps = steps
	// Committed: what follows must finish even if a signal arrives.
	ctx = context.WithoutCancel(ctx)
	c.SetInterrupt(ctx)
	if err := u.o.Hooks.at(ctx, PointAfterCommit); err != nil {
		return u.undo(ctx, err)
	}
	if err := Verify(ctx, c); err != nil {
		return u.undo(ctx, err)
	}
	return nil
}

// undo puts the pre-migrate backup back after a failed post-commit check.
func (u *upgrade) undo(ctx context.Context, cause error) error {
	if u.rep.Backup == "" {
		return fmt.Errorf("%w; the board was migrated but fails verification, and there is no backup (--no-backup)", cause)
	}
	u.b.MarkWritten()
	if err := Restore(ctx, u.b.Conn, u.rep.Backup); err != nil {
		return fmt.Errorf("%w; restoring %s failed too: %w", cause, u.rep.Backup, err)
	}
	u.rep.Restored = true
	u.rep.Steps = nil
	return fmt.Errorf("%w; the board was restored from %s", cause, u.rep.Backup)
}

// switchJournal changes the mode after a last check that nobody else has
// opened the file since the preflight.
func (u *upgrade) switchJournal(from string) error {
	if err := othersOpen(u.path, from, u.o.Journal); err != nil {
		return err
	}
	got, err := setJournalMode(u.b.Conn, u.o.Journal)
	u.b.MarkWritten()
	if got != "" {
		u.rep.JournalAfter = got
	}
	return err
}

// lockBoard takes the init lock (the same file upstream locks) and then
// the write lease as a maintenance holder, in the order kanban takes
// them, and returns the function releasing both.
func lockBoard(ctx context.Context, path string, timeout time.Duration) (func(), error) {
	il, err := lockd.LockInit(ctx, path, timeout)
	if err != nil {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		if errors.Is(err, lockd.ErrTimeout) {
			return nil, fmt.Errorf("%w (%s held%s)", ErrInitBusy, board.InitLockPath(path), holders(board.InitLockPath(path)))
		}
		return nil, err
	}
	lease := lockd.NewLease(path)
	if err := lease.AcquireMaintenance(ctx, MaintenanceTool, "apply", timeout); err != nil {
		il.Close()
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, err
	}
	return func() {
		lease.Release()
		il.Close()
	}, nil
}

// holders names the pids holding a flock on path, " by pid 1, 2", or "".
func holders(path string) string {
	hs, err := proc.FlockHolders(path)
	if err != nil || len(hs) == 0 {
		return ""
	}
	pids := make([]string, len(hs))
	for i, h := range hs {
		pids[i] = strconv.Itoa(h.PID)
	}
	return " by pid " + strings.Join(pids, ", ")
}

// PlanUpgrade opens the board at path and returns what Upgrade would run,
// after the same refusals (empty, damaged or foreign file), changing
// nothing. now is the clock of synthesized runs.
func PlanUpgrade(ctx context.Context, path string, now time.Time, busy time.Duration) ([]Step, error) {
	u := &upgrade{path: path, o: UpgradeOptions{Now: now, BusyTimeout: busy}, rep: &Report{DB: path}, read: true}
	if u.o.BusyTimeout <= 0 {
		u.o.BusyTimeout = 120 * time.Second
	}
	if err := u.open(ctx); err != nil {
		return nil, damaged(err)
	}
	defer u.b.Close()
	steps, err := u.preflight(ctx)
	return steps, damaged(err)
}

// StatusOf opens the board at path read-only in effect and examines it.
func StatusOf(ctx context.Context, path string, now time.Time, busy time.Duration) (*Status, error) {
	if busy <= 0 {
		busy = 120 * time.Second
	}
	b, err := OpenBoardRead(ctx, path, busy)
	if err != nil {
		return nil, damaged(err)
	}
	defer b.Close()
	st, err := Examine(ctx, b.Conn, now.Unix())
	return st, damaged(err)
}
