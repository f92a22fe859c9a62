package recover

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/migrate"
)

// Snapshot outcomes (SnapshotReport.Status).
const (
	SnapshotTaken   = "taken"   // a verified snapshot was added to the set
	SnapshotSkipped = "skipped" // not enough free space; nothing written
	SnapshotDamaged = "damaged" // the board is damaged; nothing written
	SnapshotFailed  = "failed"  // could not take or verify it; nothing kept
	SnapshotEmpty   = "empty"   // a 0-byte board or one without tables: nothing to snapshot
)

// spaceFactor: a snapshot is skipped when, after it, the file system
// would have less than spaceFactor times the board's size left.
const spaceFactor = 2

// verifyCacheKiB is the page cache of the connection that
// integrity_checks a new snapshot: the default 2 MiB makes the index
// cross-checks of a 100 MB board twice as slow.
const verifyCacheKiB = 64 << 10

// SnapshotOptions configures Snapshot.
type SnapshotOptions struct {
	DBPath string
	// Dir holds the board's snapshot sets; "" means
	// board.Snapshot.DefaultDir(DBPath).
	Dir string
	// Keep is how many of the database's snapshots pruning keeps (the
	// new one included); <= 0 means board.SnapshotKeep.
	Keep int
	// BusyTimeout bounds the wait for SQLite's locks: in DELETE mode a
	// read waits for a writer's commit.
	BusyTimeout time.Duration
	Now         func() time.Time
	// FreeBytes reports the space left on the file system of a
	// directory; nil means board.FreeBytes.
	FreeBytes func(dir string) (uint64, error)
}

// SnapshotReport is what Snapshot did, shaped for `kanban-recover
// snapshot --json`.
type SnapshotReport struct {
	DBPath     string    `json:"db_path"`
	Status     string    `json:"status"`
	Path       string    `json:"path,omitempty"` // the new snapshot
	TakenAt    time.Time `json:"taken_at"`
	DurationMS int64     `json:"duration_ms"`
	// ReadMS is how long the board was held in the read transaction
	// (quick_check and copy): in DELETE mode, a commit waits that long.
	ReadMS      int64  `json:"read_ms"`
	Bytes       int64  `json:"bytes"`       // the snapshot's size
	BoardBytes  int64  `json:"board_bytes"` // the db and its -wal when taken
	FreeBytes   uint64 `json:"free_bytes"`  // left on the snapshots' file system before
	JournalMode string `json:"journal_mode,omitempty"`
	Tasks       int64  `json:"tasks"`
	// IntegrityCheck is the verdict on the copy ("ok" for a kept one).
	IntegrityCheck string `json:"integrity_check,omitempty"`
	// Kept are the database's snapshots after pruning, newest first.
	Kept   []string `json:"kept"`
	Pruned []string `json:"pruned"`
	// Damage is the marker that refused the board, or the one this run
	// recorded; Problems what quick_check (or integrity_check) said.
	Damage   *board.Damage `json:"damage,omitempty"`
	Problems []string      `json:"problems,omitempty"`
	Notes    []string      `json:"notes,omitempty"`
	Error    string        `json:"error,omitempty"`
}

// ErrDamaged means the board is damaged (a damage marker, or a failing
// check), so it is not snapshotted: a snapshot is a second source for
// repair and must never hold damage. DamagedError says what was seen. It
// is kanban-migrate's sentinel too.
var ErrDamaged = migrate.ErrDamaged

// DamagedError is a board Snapshot refused.
type DamagedError struct {
	Path string
	// Marker is the damage marker in force (found, or recorded now).
	Marker *board.Damage
	// Problems are the check's messages, when this run saw the damage.
	Problems []string
}

func (e *DamagedError) Error() string {
	if len(e.Problems) == 0 && e.Marker != nil {
		return fmt.Sprintf("%s is marked damaged (%s); not snapshotted", e.Path, e.Marker.Summary())
	}
	return fmt.Sprintf("%s is damaged (%s); not snapshotted", e.Path, strings.Join(e.Problems[:min(3, len(e.Problems))], "; "))
}

func (e *DamagedError) Unwrap() error { return ErrDamaged }

// ErrHotJournal means the board has a hot -journal (a writer died in the
// middle of a transaction): reading it would roll the journal back in the
// board, a write a snapshot never makes. The next kanban write rolls it
// back; snapshot after that.
var ErrHotJournal = errors.New("the board has an interrupted transaction (a writer died mid-write; its -journal is hot)")

// ErrEmptyBoard means the board holds nothing to snapshot: its file is
// 0 bytes, or a database without a single table (kanban initialises it
// on first use). Not a failure: `snapshot --all` from cron must not mail
// about a board nobody has used yet.
var ErrEmptyBoard = errors.New("empty board: nothing to snapshot")

// ErrNoSpace means a snapshot would leave too little free space.
var ErrNoSpace = errors.New("not enough free space for a snapshot")

// SpaceError is a snapshot skipped for lack of space.
type SpaceError struct {
	Dir              string
	Free, Need, Size uint64
}

func (e *SpaceError) Error() string {
	return fmt.Sprintf("snapshot skipped: %s has %s free; a snapshot of this %s board needs %s (its size, and twice its size left after it)",
		e.Dir, mib(e.Free), mib(e.Size), mib(e.Need))
}

func (e *SpaceError) Unwrap() error { return ErrNoSpace }

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// Snapshot takes a verified copy of the healthy board at DBPath into its
// snapshot set (board.Snapshot: <dir>/<db>.snapshot-<UTC ts>.db) and
// prunes the database's older snapshots to Keep.
//
// The board is only read: through SQLite, in one read transaction that
// quick_checks it and copies it page by page with the online backup API,
// on a read-only connection that never checkpoints. It takes no write
// lease, so kanban and Python writers keep going (in WAL mode they never
// wait; in DELETE mode a commit waits for the copy, as for any reader).
// The copy is switched to DELETE mode (one self-contained file),
// integrity_checked, fsynced and only then given its name.
//
// A board with a damage marker is refused before anything is read; one
// whose quick_check fails gets a marker and is refused: both return a
// *DamagedError (ErrDamaged) and write nothing. Too little free space
// returns a *SpaceError (ErrNoSpace) and writes nothing.
func Snapshot(ctx context.Context, o SnapshotOptions) (*SnapshotReport, error) {
	s := &snapshotter{o: o, rep: &SnapshotReport{DBPath: o.DBPath, Status: SnapshotFailed, Kept: []string{}, Pruned: []string{}}}
	s.defaults()
	start := time.Now()
	err := s.run(ctx)
	s.rep.DurationMS = time.Since(start).Milliseconds()
	var de *DamagedError
	switch {
	case err == nil:
		s.rep.Status = SnapshotTaken
	case errors.As(err, &de):
		s.rep.Status, s.rep.Damage, s.rep.Problems = SnapshotDamaged, de.Marker, de.Problems
	case errors.Is(err, ErrNoSpace):
		s.rep.Status = SnapshotSkipped
	case errors.Is(err, ErrEmptyBoard):
		s.rep.Status = SnapshotEmpty
	}
	if err != nil {
		s.rep.Error = err.Error()
	}
	return s.rep, err
}

type snapshotter struct {
	o   SnapshotOptions
	rep *SnapshotReport
}

func (s *snapshotter) defaults() {
	if s.o.Dir == "" {
		s.o.Dir = board.Snapshot.DefaultDir(s.o.DBPath)
	}
	if s.o.Keep <= 0 {
		s.o.Keep = board.SnapshotKeep
	}
	if s.o.Now == nil {
		s.o.Now = time.Now
	}
	if s.o.FreeBytes == nil {
		s.o.FreeBytes = board.FreeBytes
	}
}

func (s *snapshotter) run(ctx context.Context) error {
	db := s.o.DBPath
	s.rep.TakenAt = s.o.Now().UTC().Truncate(time.Second)
	if err := s.refuse(); err != nil {
		return err
	}
	if err := s.checkSpace(); err != nil {
		return err
	}
	guard, err := lockd.HoldOpen(ctx, db)
	if err != nil && !errors.Is(err, fs.ErrPermission) && !errors.Is(err, syscall.EROFS) {
		return err
	}
	defer guard.Close()
	final := board.Snapshot.NewPath(s.o.Dir, db, s.rep.TakenAt, "", "")
	tmp := board.TempPath(final)
	if err := s.copy(ctx, tmp); err != nil {
		removeDB(tmp)
		return err
	}
	if err := s.verify(ctx, tmp); err != nil {
		removeDB(tmp)
		return err
	}
	if err := board.Publish(board.OSFS{}, tmp, final); err != nil {
		removeDB(tmp)
		return fmt.Errorf("snapshot: %w", err)
	}
	s.rep.Path = final
	if fi, err := os.Stat(final); err == nil {
		s.rep.Bytes = fi.Size()
	}
	s.prune(final)
	return nil
}

// refuse fails for a board that is not there, is blocked by an
// interrupted swap, carries a damage marker, is a missing or empty
// database whose -wal or -journal holds data (damage: SQLite would delete
// that sidecar as it opened the board), is empty (ErrEmptyBoard), or has
// a hot -journal (SQLite would roll it back in the board as it read it).
func (s *snapshotter) refuse() error {
	db := s.o.DBPath
	fi, err := os.Stat(db)
	missing := errors.Is(err, fs.ErrNotExist)
	switch {
	case missing && board.CheckEmpty(db) == nil:
		return fmt.Errorf("%s: %w", db, ErrNoBoard)
	case err != nil && !missing:
		return fmt.Errorf("snapshot: %w", err)
	case !missing && !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file", db)
	}
	if board.SwapPending(db) {
		return fmt.Errorf("%s: a kanban-recover swap was interrupted and the board is blocked; not snapshotted", db)
	}
	d, err := board.ReadDamage(db)
	if d != nil {
		return &DamagedError{Path: db, Marker: d}
	}
	if err != nil {
		return err
	}
	if missing || fi.Size() == 0 {
		if err := board.CheckEmpty(db); err != nil {
			return s.damaged("open", []string{err.Error()})
		}
		return fmt.Errorf("%s: %w", db, ErrEmptyBoard)
	}
	if hot, err := board.HotJournal(db); err != nil || hot {
		if hot {
			err = fmt.Errorf("%s: %w; the next kanban write rolls it back, snapshot after that", db, ErrHotJournal)
		}
		return err
	}
	return nil
}

// checkSpace skips the snapshot when the file system holding the
// snapshots would keep less than twice the board's size after it (a
// snapshot is about the size of the db and its -wal).
func (s *snapshotter) checkSpace() error {
	var size int64
	for _, p := range []string{s.o.DBPath, board.WAL(s.o.DBPath)} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			size += fi.Size()
		}
	}
	s.rep.BoardBytes = size
	dir := existingAncestor(s.o.Dir)
	free, err := s.o.FreeBytes(dir)
	if err != nil {
		return fmt.Errorf("snapshot: free space of %s: %w", dir, err)
	}
	s.rep.FreeBytes = free
	need := uint64(size) * (1 + spaceFactor)
	if free < need {
		return &SpaceError{Dir: dir, Free: free, Need: need, Size: uint64(size)}
	}
	return nil
}

// existingAncestor is dir, or its nearest ancestor that exists.
func existingAncestor(dir string) string {
	for {
		if _, err := os.Stat(dir); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			return dir
		}
		dir = up
	}
}

// openLive opens the board read-only, never checkpointing on close: a
// read leaves the -wal exactly as it found it.
func (s *snapshotter) openLive(ctx context.Context) (*sqlite3.Conn, error) {
	c, err := migrate.OpenLive(s.o.DBPath, sqlite3.OPEN_READONLY)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", s.o.DBPath, err)
	}
	if s.o.BusyTimeout > 0 {
		_ = c.BusyTimeout(s.o.BusyTimeout)
	}
	c.SetInterrupt(ctx)
	return c, nil
}

// copy quick_checks the board, counts its tasks and copies it to tmp in
// one read transaction, so the copy is the state that was checked.
func (s *snapshotter) copy(ctx context.Context, tmp string) (err error) {
	c, err := s.openLive(ctx)
	if err != nil {
		return err
	}
	defer func() {
		c.SetInterrupt(context.Background())
		if cerr := c.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close %s: %w", s.o.DBPath, cerr)
		}
	}()
	if err := c.Exec("BEGIN"); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	start := time.Now()
	defer func() {
		_ = c.Exec("ROLLBACK") // a read transaction: nothing to keep
		s.rep.ReadMS = time.Since(start).Milliseconds()
	}()
	msgs, err := migrate.QuickCheck(c)
	if err != nil && !isCorrupt(err) {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err != nil {
		msgs = []string{err.Error()}
	}
	if len(msgs) > 0 {
		return s.damaged("quick_check", msgs)
	}
	if s.rep.Tasks, _, err = sqlx.QueryInt(c, "SELECT count(*) FROM tasks"); err != nil {
		if isCorrupt(err) {
			return s.damaged("count tasks", []string{err.Error()})
		}
		if n, _, cerr := sqlx.QueryInt(c, "SELECT count(*) FROM sqlite_schema"); cerr == nil && n == 0 {
			return fmt.Errorf("%s: %w", s.o.DBPath, ErrEmptyBoard)
		}
		return fmt.Errorf("%s is not a kanban board: %w", s.o.DBPath, err)
	}
	if mode, _, err := sqlx.QueryText(c, "PRAGMA journal_mode"); err == nil {
		s.rep.JournalMode = strings.ToLower(mode)
	}
	if err := os.MkdirAll(s.o.Dir, 0o755); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	board.Snapshot.RemoveTemps(s.o.Dir, s.o.DBPath)
	if err := c.Backup("main", tmp); err != nil {
		if isCorrupt(err) {
			return s.damaged("backup", []string{err.Error()})
		}
		return fmt.Errorf("snapshot: copy to %s: %w", tmp, err)
	}
	return ctx.Err()
}

// verify makes the copy one self-contained file (DELETE mode) and checks
// it with integrity_check. A copy that fails is either
// a bad write or damage quick_check cannot see (index contents): the
// board itself is integrity_checked to tell which.
func (s *snapshotter) verify(ctx context.Context, tmp string) (err error) {
	c, err := sqlite3.Open(tmp)
	if err != nil {
		return fmt.Errorf("snapshot: open copy: %w", err)
	}
	c.SetInterrupt(ctx)
	defer func() {
		c.SetInterrupt(context.Background())
		if cerr := c.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("snapshot: close copy: %w", cerr)
		}
	}()
	// The page copy carries the board's WAL flag; the copy is private.
	for _, p := range []string{"PRAGMA journal_mode=DELETE", fmt.Sprintf("PRAGMA cache_size=-%d", verifyCacheKiB)} {
		if err := c.Exec(p); err != nil {
			return fmt.Errorf("snapshot: %s: %w", p, err)
		}
	}
	msgs, err := migrate.IntegrityCheck(c)
	if err != nil && !isCorrupt(err) {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err != nil {
		msgs = []string{err.Error()}
	}
	if len(msgs) > 0 {
		s.rep.IntegrityCheck = strings.Join(msgs[:min(3, len(msgs))], "; ")
		return s.confirm(ctx, msgs)
	}
	s.rep.IntegrityCheck = "ok"
	return nil
}

// confirm runs integrity_check on the board after its copy failed one.
func (s *snapshotter) confirm(ctx context.Context, copyMsgs []string) error {
	c, err := s.openLive(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	msgs, err := migrate.IntegrityCheck(c)
	switch {
	case isCorrupt(err):
		return s.damaged("integrity_check", []string{err.Error()})
	case err != nil:
		return fmt.Errorf("snapshot: %w", err)
	case len(msgs) > 0:
		return s.damaged("integrity_check", msgs)
	}
	return fmt.Errorf("snapshot: the copy failed integrity_check (%s) but the board passes it: the snapshots' file system may be failing",
		strings.Join(copyMsgs[:min(3, len(copyMsgs))], "; "))
}

// damaged records the damage marker (the first detection wins) and
// returns the refusal.
func (s *snapshotter) damaged(check string, msgs []string) error {
	seen := fmt.Sprintf("kanban-recover snapshot: %s: %s", check, strings.Join(msgs[:min(3, len(msgs))], "; "))
	d, _, err := board.RecordDamage(s.o.DBPath, board.Damage{Seen: seen})
	de := &DamagedError{Path: s.o.DBPath, Marker: &d, Problems: msgs}
	if err != nil {
		return errors.Join(de, err)
	}
	return de
}

// prune keeps the newest Keep snapshots of the database (the new one
// always) and lists what is left, newest first. The snapshot is taken
// either way: a failure is a note.
func (s *snapshotter) prune(final string) {
	removed, err := board.Snapshot.Prune(board.OSFS{}, s.o.Dir, s.o.DBPath, s.o.Keep, final)
	s.rep.Pruned = append(s.rep.Pruned, removed...)
	if err != nil {
		s.rep.Notes = append(s.rep.Notes, "pruning old snapshots failed: "+err.Error())
	}
	sets, err := board.Snapshot.List(s.o.Dir, s.o.DBPath)
	if err != nil {
		s.rep.Notes = append(s.rep.Notes, "listing snapshots failed: "+err.Error())
	}
	for i := len(sets) - 1; i >= 0; i-- {
		s.rep.Kept = append(s.rep.Kept, sets[i].Path)
	}
}

// isCorrupt reports SQLite's verdict that a file is damaged.
func isCorrupt(err error) bool { return sqlx.IsCorrupt(err) }
