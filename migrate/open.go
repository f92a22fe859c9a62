package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/sqlitefile"
	"github.com/kanbanshim/kanbanshim/lockd"
)

// Sentinel errors of OpenBoard.
var (
	// ErrNoBoard is a board path with no database file. kanban-migrate
	// never creates a board.
	ErrNoBoard = errors.New("no kanban DB")
	// ErrNotSQLite is a file whose header is not SQLite's: a damaged board
	// is kanban-recover's job, never a migration's.
	ErrNotSQLite = errors.New("not a SQLite database (bad header)")
	// ErrSwapPending is a board with an interrupted kanban-recover swap
	// (board.SwapPendingPath): kanban-recover auto, or any kanban
	// command, resolves it first.
	ErrSwapPending = errors.New("a kanban-recover swap was interrupted")
)

// Board is a board database opened for inspection or migration: the open
// guard held (shared, or exclusive for a journal-mode change), and one
// SQLite connection with upstream's PRAGMAs. Opening never changes the
// journal mode.
type Board struct {
	Path  string
	Conn  *sqlite3.Conn
	Empty bool // the file has zero bytes
	// Copy is set when Conn reads a private copy of the board (see
	// OpenBoardRead), not the board.
	Copy  bool
	guard *lockd.OpenGuard
	dir   string // the private copy's directory
	wrote bool   // a write was committed: closing may checkpoint
}

// OpenBoard opens the existing board at path. With exclusive it takes the
// open guard exclusively and fails (wrapping lockd.ErrBoardInUse) while
// any other kanbanshim process has the board open. The header is read
// before SQLite (or anything else in this process) opens the file, so the
// read cannot cancel a POSIX lock of ours.
//
// The connection never checkpoints on close unless a write was committed
// through it (MarkWritten), and the board's files pass CheckFiles (the
// -wal's frame chain, the b-tree root pages; a *DamageError otherwise)
// before anything is written. A missing or zero-byte database whose -wal
// or -journal holds data is a *DamageError (DamageEmptyWithData) before
// SQLite opens it.
func OpenBoard(ctx context.Context, path string, exclusive bool, busy time.Duration) (*Board, error) {
	return openBoard(ctx, path, exclusive, false, busy)
}

// OpenBoardRead is OpenBoard for status and plan, which only read: on a
// board with a hot -journal (a writer died mid-transaction) it reads a
// private copy in which SQLite rolls the journal back (Board.Copy), where
// SQLite would roll it back in the board itself.
func OpenBoardRead(ctx context.Context, path string, busy time.Duration) (*Board, error) {
	return openBoard(ctx, path, false, true, busy)
}

func openBoard(ctx context.Context, path string, exclusive, read bool, busy time.Duration) (_ *Board, err error) {
	// SQLite would delete a -wal or -journal that holds data next to a
	// missing or empty database as it opens it: that is damage, not a
	// new board or no board, and SQLite must not see it.
	var ee *board.EmptyDBError
	if err := board.CheckEmpty(path); errors.As(err, &ee) {
		return nil, &DamageError{DB: path, Kind: DamageEmptyWithData, Detail: ee.Error()}
	}
	size, err := checkFile(path)
	if err != nil {
		return nil, err
	}
	b := &Board{Path: path, Empty: size == 0}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	if b.guard, err = takeGuard(ctx, path, exclusive); err != nil {
		return nil, err
	}
	if board.SwapPending(path) {
		return nil, fmt.Errorf("%s: %w", path, ErrSwapPending)
	}
	if read && !b.Empty {
		if b.Conn, b.dir, err = OpenHotCopy(ctx, path); err != nil {
			return nil, err
		}
		b.Copy = b.Conn != nil
	}
	if b.Conn == nil {
		if b.Conn, err = openConn(path); err != nil {
			return nil, err
		}
	}
	if err := b.Conn.BusyTimeout(busy); err != nil {
		return nil, err
	}
	b.Conn.SetInterrupt(ctx)
	for _, p := range []string{
		"PRAGMA synchronous=FULL",
		"PRAGMA wal_autocheckpoint=100",
		"PRAGMA foreign_keys=ON",
		"PRAGMA secure_delete=ON",
		"PRAGMA cell_size_check=ON",
	} {
		if err := b.Conn.Exec(p); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	if !b.Empty && !b.Copy {
		d, _ := board.ReadDamage(path)
		if err := CheckFiles(ctx, b.Conn, path, d == nil); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// OpenLive opens a connection to the live board at path with flags and
// turns SQLite's checkpoint-on-close off: the last connection to close
// would otherwise copy the -wal into the database and delete it, a write,
// and on a damaged board one that makes it worse. A writer that committed
// turns it back on before it closes; read-only work never does. Every
// kanbanshim connection to a live board is opened here (or OpenLiveRead).
// Errors from SQLite's open come back as they are.
func OpenLive(path string, flags sqlite3.OpenFlag) (*sqlite3.Conn, error) {
	c, err := sqlite3.OpenFlags(path, flags)
	if err != nil {
		return nil, err
	}
	if _, err := c.Config(sqlite3.DBCONFIG_NO_CKPT_ON_CLOSE, true); err != nil {
		c.Close()
		return nil, fmt.Errorf("turn off checkpoint on close: %w", err)
	}
	return c, nil
}

// OpenLiveRead is OpenLive for work that only reads: on a board with a
// hot -journal it opens a private copy instead (OpenHotCopy; dir is the
// copy's directory, which the caller removes after closing c, "" when c
// is the board itself).
func OpenLiveRead(ctx context.Context, path string, flags sqlite3.OpenFlag) (c *sqlite3.Conn, dir string, err error) {
	if c, dir, err = OpenHotCopy(ctx, path); err != nil || c != nil {
		return c, dir, err
	}
	c, err = OpenLive(path, flags)
	return c, "", err
}

// OpenHotCopy opens a private copy of the board at path when it has a
// hot -journal (a writer died mid-transaction): the db and its -journal
// are copied under SQLite's SHARED lock (board.CopyHotJournal) into a new
// directory dir, where SQLite rolls the transaction back on the first
// read. SQLite would do that in the board itself, a write that read-only
// work must not do. c is nil when there is no hot -journal; the caller
// removes dir after closing c.
func OpenHotCopy(ctx context.Context, path string) (c *sqlite3.Conn, dir string, err error) {
	if hot, err := board.HotJournal(path); err != nil || !hot {
		return nil, "", err
	}
	if dir, err = os.MkdirTemp("", "kanban-read-*"); err != nil {
		return nil, "", fmt.Errorf("private copy of a board with a hot -journal: %w", err)
	}
	copied, err := board.CopyHotJournal(path, dir, hotCopyWait)
	if err == nil && copied != "" {
		c, err = sqlite3.OpenFlags(copied, sqlite3.OPEN_READWRITE)
	}
	if err != nil || c == nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	c.SetInterrupt(ctx)
	return c, dir, nil
}

// hotCopyWait bounds the wait for SQLite's SHARED lock while a hot
// -journal is copied.
const hotCopyWait = 5 * time.Second

// MarkWritten records that a write was committed through b: closing it
// may then checkpoint the -wal (unless a damage marker exists).
func (b *Board) MarkWritten() { b.wrote = true }

// checkFile returns the size of the regular file at path after checking
// its SQLite header (an empty file passes).
func checkFile(path string) (int64, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 0, fmt.Errorf("%w at %s", ErrNoBoard, path)
	case err != nil:
		return 0, err
	case !st.Mode().IsRegular():
		return 0, fmt.Errorf("%s is not a regular file", path)
	case st.Size() == 0:
		return 0, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	head := make([]byte, len(sqlitefile.HeaderMagic))
	if _, err := io.ReadFull(f, head); err != nil || string(head) != sqlitefile.HeaderMagic {
		return 0, fmt.Errorf("%s: %w", path, ErrNotSQLite)
	}
	return st.Size(), nil
}

// takeGuard holds the open guard; on a directory we cannot write to the
// board is opened without one, as kanban does.
func takeGuard(ctx context.Context, path string, exclusive bool) (*lockd.OpenGuard, error) {
	var g *lockd.OpenGuard
	var err error
	if exclusive {
		g, err = lockd.TryExclusive(path)
	} else {
		g, err = lockd.HoldOpen(ctx, path)
	}
	if err != nil && (errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)) && !exclusive {
		return nil, nil
	}
	return g, err
}

// openConn opens read-write without creating; a board we may not write
// is opened read-only (status and plan still work; apply fails cleanly).
func openConn(path string) (*sqlite3.Conn, error) {
	c, err := OpenLive(path, sqlite3.OPEN_READWRITE)
	if err == nil {
		return c, nil
	}
	if errors.Is(err, sqlite3.CANTOPEN) || errors.Is(err, sqlite3.READONLY) || errors.Is(err, sqlite3.PERM) {
		if ro, rerr := OpenLive(path, sqlite3.OPEN_READONLY); rerr == nil {
			return ro, nil
		}
	}
	return nil, fmt.Errorf("open %s: %w", path, err)
}

// Exclusive trades the shared open guard for the exclusive one, failing
// (wrapping lockd.ErrBoardInUse) while any other kanbanshim process has
// the board open. flock cannot upgrade atomically, so the shared guard is
// dropped first; a process that slips in between makes this fail, which
// is the safe outcome.
func (b *Board) Exclusive() error {
	if b.guard != nil {
		if err := b.guard.Close(); err != nil {
			return err
		}
		b.guard = nil
	}
	g, err := lockd.TryExclusive(b.Path)
	if err != nil {
		return err
	}
	b.guard = g
	return nil
}

// Close closes the connection (checkpointing only after MarkWritten, on a
// board without a damage marker), then releases the open guard.
func (b *Board) Close() error {
	var errs []error
	if b.Conn != nil {
		b.Conn.SetInterrupt(context.Background())
		if b.wrote && !b.Copy && board.Refuse(b.Path, "") == nil {
			_, _ = b.Conn.Config(sqlite3.DBCONFIG_NO_CKPT_ON_CLOSE, false)
		}
		errs = append(errs, b.Conn.Close())
		b.Conn = nil
	}
	if b.guard != nil {
		errs = append(errs, b.guard.Close())
		b.guard = nil
	}
	if b.dir != "" {
		errs = append(errs, os.RemoveAll(b.dir))
		b.dir = ""
	}
	return errors.Join(errs...)
}
