package recover

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/fsutil"
	"github.com/ncruces/go-sqlite3"
)

// Sentinel errors callers match with errors.Is.
var (
	// ErrNoBoard means the database file does not exist.
	ErrNoBoard = errors.New("no board database")
	// ErrOutputExists means Salvage was asked to write over an existing file.
	ErrOutputExists = errors.New("output file already exists")
	// ErrOutputCorrupt means the fresh database failed integrity_check.
	ErrOutputCorrupt = errors.New("salvaged database failed integrity_check")
	// ErrNewInvalid means a swap's replacement failed verification: it
	// does not open, fails integrity_check or lacks the kanban schema.
	ErrNewInvalid = errors.New("replacement board failed verification")
	// ErrBoardBusy means other processes have the board open, so it
	// cannot be swapped (BoardBusyError names them).
	ErrBoardBusy = errors.New("board is open by other processes")
	// ErrRecoverBusy means another kanban-recover run holds the board
	// (RecoverBusyError); it also matches lockd.ErrMaintenance.
	ErrRecoverBusy = errors.New("another kanban-recover run holds the board")
	// ErrBoardChanged means the board was written after it was checked
	// and salvaged, so the salvage would lose those writes.
	ErrBoardChanged = errors.New("board changed since it was salvaged")
	// ErrSameFile means a swap was asked to replace a board with itself.
	ErrSameFile = errors.New("replacement is the board itself")
	// ErrNoExchange means the system cannot swap two names atomically.
	ErrNoExchange = board.ErrNoExchange
	// ErrSwapDiverged means a board changed while an interrupted swap
	// held its -wal/-journal aside: the held files cannot go back over
	// it, so they are kept in the quarantine set instead.
	ErrSwapDiverged = board.ErrSwapDiverged
)

// sidecars are the files that belong to a database, copied together. A
// hot -journal is part of the board's state: the copy rolls it back.
var sidecars = board.WithSidecars

// scratch is a private copy of a board (db, -wal, -shm) in a temporary
// directory. Everything the recover package analyses is such a copy, so
// the original files stay byte-identical whatever SQLite or we do.
type scratch struct {
	Dir string
	DB  string // path of the copied database
	// Copied lists which of "", "-wal", "-shm", "-journal" existed and
	// were copied.
	Copied []string
	// RolledBack is set when the copy had a hot -journal and SQLite
	// rolled it back; JournalErr when that failed (the copy is then
	// analysed as it is, with the interrupted transaction's pages).
	RolledBack bool
	JournalErr error
	// Empty is set when the board's database was missing or 0 bytes while
	// its -wal or -journal held data (board.CheckEmpty): the copy then has
	// a 0-byte database (standing in for a missing one) and the sidecars
	// as they were, which SQLite must not open (it would delete them).
	Empty *board.EmptyDBError
}

// Close removes the scratch directory.
func (s *scratch) Close() error { return os.RemoveAll(s.Dir) }

// copyBoard copies dbPath and its sidecars into a new scratch directory.
// A missing database is ErrNoBoard, unless its -wal or -journal holds
// data (scratch.Empty): what they hold is the board's, and the copy gets
// a 0-byte database in its place. Missing sidecars are fine.
func copyBoard(ctx context.Context, dbPath string) (*scratch, error) {
	lone := board.CheckEmpty(dbPath) != nil // the sidecars of a missing db hold data
	if _, err := os.Stat(dbPath); errors.Is(err, fs.ErrNotExist) && !lone {
		return nil, fmt.Errorf("%s: %w", dbPath, ErrNoBoard)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("stat board: %w", err)
	}
	dir, err := os.MkdirTemp("", "kanban-recover-*")
	if err != nil {
		return nil, fmt.Errorf("scratch dir: %w", err)
	}
	s := &scratch{Dir: dir, DB: filepath.Join(dir, "board.db")}
	for _, suf := range sidecars {
		if err := ctx.Err(); err != nil {
			s.Close()
			return nil, err
		}
		ok, err := copyFile(dbPath+suf, s.DB+suf)
		if err != nil {
			s.Close()
			return nil, err
		}
		if ok {
			s.Copied = append(s.Copied, suf)
		}
	}
	missing := len(s.Copied) == 0 || s.Copied[0] != ""
	if missing && lone {
		if err := os.WriteFile(s.DB, nil, 0o600); err != nil { // stands in for the missing db
			s.Close()
			return nil, fmt.Errorf("scratch: %w", err)
		}
	} else if missing {
		s.Close()
		return nil, fmt.Errorf("%s: %w", dbPath, ErrNoBoard)
	}
	var empty *board.EmptyDBError
	if errors.As(board.CheckEmpty(s.DB), &empty) {
		empty.DB, empty.Missing = dbPath, missing
		s.Empty = empty
	}
	// A -journal next to an empty database has nothing to roll back into
	// (and SQLite would delete it): it stays, for the check to see.
	if slices.Contains(s.Copied, board.JournalSuffix) && s.Empty == nil {
		s.JournalErr = rollBack(s.DB)
		s.RolledBack = s.JournalErr == nil
	}
	return s, nil
}

// rollBack lets SQLite roll a hot journal back into the copy db (any read
// does it, before page 1 is used); the journal is gone afterwards. A
// journal SQLite does not call hot (zeroed header, empty) is left alone
// and removed, as SQLite would ignore it.
func rollBack(db string) error {
	c, err := sqlite3.OpenFlags(db, sqlite3.OPEN_READWRITE)
	if err != nil {
		return fmt.Errorf("roll back the -journal: %w", err)
	}
	defer c.Close()
	if err := c.Exec("PRAGMA schema_version"); err != nil {
		return fmt.Errorf("roll back the -journal: %w", err)
	}
	if err := c.Close(); err != nil {
		return fmt.Errorf("roll back the -journal: %w", err)
	}
	return nil
}

// copyFile copies src to dst; ok is false when src does not exist. The
// source is opened read-only and never locked.
func copyFile(src, dst string) (ok bool, err error) {
	if fi, err := os.Stat(src); err == nil && fi.IsDir() {
		return false, nil // a swap's block on the -wal name, not a file
	}
	err = fsutil.CopyNew(src, dst, 0o600, false)
	if errors.Is(err, fs.ErrNotExist) && !exists(src) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("copy %s: %w", src, err)
	}
	return true, nil
}
