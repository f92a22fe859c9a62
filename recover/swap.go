package recover

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/lockd"
)

// ToolName is the maintenance holder name written into the lease record.
const ToolName = "kanban-recover"

// SwapOptions configures Swap.
type SwapOptions struct {
	DBPath  string // the live board
	NewPath string // the replacement; verified before anything changes
	// QuarantineDir receives the original files; "" means
	// board.Quarantine.DefaultDir(DBPath).
	QuarantineDir string
	// Force swaps even while other processes have the board open (they
	// keep writing to the quarantined file). Without it the swap refuses
	// with a *BoardBusyError naming them.
	Force bool
	// LeaseTimeout bounds the wait for the board's write lease (<= 0:
	// lockd.DefaultLeaseTimeout).
	LeaseTimeout time.Duration
	// JournalMode is the new board's mode when the original's header is
	// unreadable: "wal" (the default) or "delete". A readable header wins,
	// so a board some Python peer keeps in DELETE mode stays in it.
	JournalMode string
	// ExpectHash, when set, is the ContentHash the board must still have:
	// Auto passes the hash taken before it salvaged, so writes made since
	// are never thrown away (ErrBoardChanged).
	ExpectHash string
	FS         board.FS         // nil: board.OSFS
	Now        func() time.Time // nil: time.Now
}

// SwapReport is what Swap did, shaped for `kanban-recover swap --json`.
type SwapReport struct {
	DBPath           string   `json:"db_path"`
	NewPath          string   `json:"new_path"`
	Swapped          bool     `json:"swapped"`
	Quarantine       string   `json:"quarantine,omitempty"` // the set holding the original files
	QuarantineReused bool     `json:"quarantine_reused"`
	OriginalSHA256   string   `json:"original_sha256,omitempty"`
	Copied           bool     `json:"copied"` // the replacement was copied next to the board first
	JournalMode      string   `json:"journal_mode,omitempty"`
	QuickCheck       string   `json:"quick_check,omitempty"`
	Forced           []Opener `json:"forced_past,omitempty"`
	Pruned           []string `json:"pruned,omitempty"`
	// MarkerCleared is the damage marker the swap removed once the new
	// board passed its quick_check (nil: the board was not marked).
	MarkerCleared *board.Damage `json:"damage_marker_cleared,omitempty"`
	Notes         []string      `json:"notes,omitempty"`
}

// Swap replaces the board at DBPath with the database at NewPath.
//
// NewPath is verified first (it opens, passes integrity_check and has the
// current kanban schema). Then, holding the write lease in maintenance
// mode and the open guard exclusively for the whole swap, it resolves an
// interrupted earlier swap, refuses while any other process has the board
// open (unless Force), stages the replacement in the board's directory
// and hard-links the original db into a quarantine set (phase A: nothing
// live is touched). The commit (commit.go) writes the swap journal and
// blocks the board (its -wal's name becomes a directory, so no SQLite can
// open it) while it holds the original -wal, -shm and -journal aside,
// checks that the board did not change, and renames the replacement over
// the db: that rename is the commit point. Every failure before it
// unblocks the board with its own sidecars, so the original stays
// byte-identical and openable; after it the block goes and the held
// sidecars join the set. Afterwards the board is re-opened and
// quick_checked, and the database's old quarantine sets are pruned.
func Swap(ctx context.Context, o SwapOptions) (*SwapReport, error) {
	s, err := newSwapper(o)
	if err != nil {
		return nil, fmt.Errorf("swap: %w", err)
	}
	if err := s.run(ctx); err != nil {
		return s.rep, fmt.Errorf("swap: %w", err)
	}
	return s.rep, nil
}

// swapper carries one swap.
type swapper struct {
	o       SwapOptions
	fs      board.FS
	db, dir string
	newPath string
	qdir    string
	rep     *SwapReport
	newMode string // journal mode of the replacement as verified
	staged  string // the file renamed over db
	set     setChange
	// missing: the db does not exist, only a -wal or -journal holding
	// data (board.CheckEmpty); the swap puts a db in place and moves
	// those into the quarantine set.
	missing bool
}

// setChange records what phase A did to the quarantine, to undo it.
type setChange struct {
	dir     string
	created bool     // the set directory was made by this swap
	added   []string // files linked or copied into it by this swap
}

func newSwapper(o SwapOptions) (*swapper, error) {
	if o.DBPath == "" || o.NewPath == "" {
		return nil, errors.New("DBPath and NewPath are required")
	}
	db, err := filepath.Abs(o.DBPath)
	if err != nil {
		return nil, err
	}
	np, err := filepath.Abs(o.NewPath)
	if err != nil {
		return nil, err
	}
	s := &swapper{o: o, fs: o.FS, db: db, dir: filepath.Dir(db), newPath: np, qdir: o.QuarantineDir}
	if s.fs == nil {
		s.fs = board.OSFS{}
	}
	if s.qdir == "" {
		s.qdir = board.Quarantine.DefaultDir(db)
	}
	if s.o.Now == nil {
		s.o.Now = time.Now
	}
	if s.o.LeaseTimeout <= 0 {
		s.o.LeaseTimeout = lockd.DefaultLeaseTimeout
	}
	s.rep = &SwapReport{DBPath: db, NewPath: np}
	return s, nil
}

func (s *swapper) run(ctx context.Context) error {
	if err := s.preflight(); err != nil {
		return err
	}
	mode, err := verifyBoard(ctx, s.newPath)
	if err != nil {
		return err
	}
	s.newMode = mode
	m, err := lockd.Maintain(ctx, s.db, ToolName, "swap", s.o.LeaseTimeout)
	if err != nil {
		return err
	}
	defer m.Release()
	if note, err := board.ResolveSwap(s.fs, s.db); err != nil {
		return err
	} else if note != "" {
		s.rep.Notes = append(s.rep.Notes, note)
	}
	if err := s.refuseOpeners(m.GuardBusy); err != nil {
		return err
	}
	if err := s.prepare(ctx); err != nil {
		return err
	}
	if err := s.refuseOpeners(m.GuardBusy); err != nil { // the staging may have taken a while
		return s.abort(err)
	}
	if err := ctx.Err(); err != nil {
		return s.abort(context.Cause(ctx))
	}
	if err := s.commit(); err != nil {
		return err
	}
	return s.after(context.WithoutCancel(ctx))
}

// preflight checks the paths: both files exist (or the db is missing but
// its -wal or -journal holds data: what the board is) and are distinct,
// and the replacement is not one of the board's own files.
func (s *swapper) preflight() error {
	st, err := os.Stat(s.db)
	s.missing = errors.Is(err, fs.ErrNotExist)
	if s.missing && board.CheckEmpty(s.db) == nil {
		return fmt.Errorf("%s: %w", s.db, ErrNoBoard)
	}
	if err != nil && !s.missing {
		return err
	}
	nst, err := os.Stat(s.newPath)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNewInvalid, err)
	}
	if !s.missing && os.SameFile(st, nst) {
		return fmt.Errorf("%s: %w", s.newPath, ErrSameFile)
	}
	if rel, err := filepath.Rel(s.qdir, s.newPath); err == nil && !strings.HasPrefix(rel, "..") {
		return fmt.Errorf("%w: %s is in the quarantine; copy it out first (verifying it would change the kept copy)", ErrNewInvalid, s.newPath)
	}
	if slices.Contains(board.OwnFiles(s.db), s.newPath) {
		return fmt.Errorf("%w: %s is one of the board's own files", ErrNewInvalid, s.newPath)
	}
	return nil
}

// refuseOpeners fails with a *BoardBusyError while other processes have
// the board open, unless forced (then they are reported).
func (s *swapper) refuseOpeners(guardBusy bool) error {
	ops := openers(s.db, guardBusy)
	if len(ops) == 0 {
		return nil
	}
	if !s.o.Force {
		return &BoardBusyError{Path: s.db, Openers: ops}
	}
	for _, o := range ops {
		if !slices.ContainsFunc(s.rep.Forced, func(f Opener) bool { return f.PID == o.PID && f.Command == o.Command }) {
			s.rep.Forced = append(s.rep.Forced, o)
		}
	}
	return nil
}

// prepare is everything before the commit that leaves the live files
// alone: the content hash, the staged replacement in the board's
// directory, and the quarantine set holding links to the originals.
func (s *swapper) prepare(ctx context.Context) error {
	sum, err := board.ContentHash(s.db)
	if err != nil {
		return err
	}
	s.rep.OriginalSHA256 = sum
	if s.o.ExpectHash != "" && s.o.ExpectHash != sum {
		return fmt.Errorf("%s: %w; run again", s.db, ErrBoardChanged)
	}
	if err := s.stage(ctx); err != nil {
		return s.abort(err)
	}
	if err := s.quarantine(sum); err != nil {
		return s.abort(err)
	}
	return nil
}

// abort undoes phase A after a failure: the links it added to the
// quarantine (so no set aliases the live files) and the staged copy.
// The live files were not touched, so there is nothing else to restore.
func (s *swapper) abort(cause error) error {
	var errs []error
	for _, f := range s.set.added {
		if err := s.fs.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if s.set.created && len(errs) == 0 {
		if err := s.fs.RemoveAll(s.set.dir); err != nil {
			errs = append(errs, err)
		}
	}
	s.set = setChange{}
	s.rep.Quarantine = ""
	if s.rep.Copied && s.staged != "" {
		if err := board.RemoveIfExists(s.fs, s.staged); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("cleanup after the failed swap: %v", errors.Join(errs...)))
	}
	return cause
}

// exists reports whether path exists (a broken stat counts as existing,
// so nothing is restored over it).
func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// quarantine makes sure the quarantine set for sum holds the original db
// before the commit: a hard link to the live db (the same inode, so
// byte-identical by construction; a copy where links are unsupported).
// A set of this database that already holds this exact state (kanban's
// detection snapshot of it, or an earlier attempt) is reused. The -wal,
// -shm and -journal join the set after the commit (board.Finish), which
// also marks it as holding the original. Nothing live is changed.
func (s *swapper) quarantine(sum string) error {
	if err := s.fs.MkdirAll(s.qdir, 0o755); err != nil {
		return err
	}
	dir := board.FindQuarantine(s.qdir, s.db, sum)
	s.rep.QuarantineReused = dir != ""
	if dir == "" {
		dir = board.Quarantine.NewPath(s.qdir, s.db, s.o.Now(), sum, "")
		if err := s.fs.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		s.set.created = true
	}
	s.set.dir, s.rep.Quarantine = dir, dir
	if dst := filepath.Join(dir, filepath.Base(s.db)); !exists(dst) && !s.missing {
		if err := board.LinkOrCopy(s.fs, s.db, dst); err != nil {
			return fmt.Errorf("quarantine %s: %w", filepath.Base(s.db), err)
		}
		s.set.added = append(s.set.added, dst)
	}
	if err := s.fs.SyncDir(dir); err != nil {
		return err
	}
	return s.fs.SyncDir(s.qdir)
}

// after runs once the replacement is in place: re-open it and
// quick_check, then prune the database's old quarantine sets. A failure
// here is reported with the swap done (Swapped stays true).
func (s *swapper) after(ctx context.Context) error {
	mode, err := quickCheck(ctx, s.db)
	if err != nil {
		return fmt.Errorf("swapped, but the new board fails its check (the original is in %s): %w", s.set.dir, err)
	}
	s.rep.QuickCheck, s.rep.JournalMode = "ok", mode
	// The damaged state is in the quarantine set; the board in place was
	// verified before the commit and checks now: it may be written again.
	if d, _ := board.ReadDamage(s.db); d != nil {
		if err := board.ClearDamage(s.db); err != nil {
			return fmt.Errorf("swapped, but the damage marker could not be cleared: %w", err)
		}
		s.rep.MarkerCleared = d
	}
	pruned, err := board.Quarantine.Prune(s.fs, s.qdir, s.db, board.QuarantineKeep, s.set.dir)
	s.rep.Pruned = pruned
	if err != nil {
		s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("pruning %s: %v", s.qdir, err))
	}
	return nil
}
