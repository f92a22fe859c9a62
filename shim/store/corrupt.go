package store

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/sqlitefile"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// CorruptError is a board we refuse to open. Its message keeps upstream's
// wording after the CLI's "could not initialize database: " prefix, and
// names the fix.
type CorruptError struct {
	Path     string
	Reason   string
	Snapshot string // forensic copy, "" when none could be made
	Board    string
	// NotSQLite says the file holds no b-tree page at all (text, random
	// bytes), or all there is is a -journal next to a missing or empty
	// database: nothing can be salvaged, so the fix starts a fresh board.
	NotSQLite bool
	Err       error
}

// RepairCommand is the shell-quoted command that repairs the board; for
// a file that is not a SQLite database at all it moves the file into
// quarantine and starts a fresh board (board.FreshFlag).
func (e *CorruptError) RepairCommand() string {
	if e.NotSQLite {
		return board.RepairCommand(e.Path, e.Board, board.FreshFlag)
	}
	return board.RepairCommand(e.Path, e.Board)
}

func (e *CorruptError) Error() string {
	snap := e.Snapshot
	if snap == "" {
		snap = "<backup failed>"
	}
	return fmt.Sprintf("Refusing to open corrupt kanban DB at %s: %s. Original preserved; backup at %s. To repair it run: %s", e.Path, e.Reason, snap, e.RepairCommand())
}

// SwapPendingError means the board has an interrupted kanban-recover
// swap's journal that could not be resolved here.
type SwapPendingError struct {
	Path  string
	Board string
	Err   error // why resolving it failed; nil when nothing tried
}

func (e *SwapPendingError) Error() string {
	fix := board.RepairCommand(e.Path, e.Board)
	if e.Err != nil {
		return fmt.Sprintf("a kanban-recover swap of %s was interrupted and could not be resolved here (%v); run: %s", e.Path, e.Err, fix)
	}
	return fmt.Sprintf("a kanban-recover swap of %s was interrupted (%s exists); run: %s", e.Path, board.SwapPendingPath(e.Path), fix)
}

// Unwrap returns why resolving the swap failed.
func (e *SwapPendingError) Unwrap() error { return e.Err }

// Unwrap matches ErrCorrupt and the underlying SQLite error.
func (e *CorruptError) Unwrap() []error { return []error{ErrCorrupt, e.Err} }

// IsCorrupt reports whether err says the database file is damaged.
func IsCorrupt(err error) bool {
	return errors.Is(err, ErrCorrupt) || sqlx.IsCorrupt(err)
}

// classify turns SQLite's corruption codes into a CorruptError (with a
// snapshot) and leaves every other error alone; busy and locked are not
// corruption.
func (s *Store) classify(err error) error {
	if err == nil || errors.Is(err, ErrCorrupt) {
		return err
	}
	if sqlx.IsCorrupt(err) {
		return s.corrupt(err)
	}
	return err
}

// Corrupt classifies an error met while running a command on this board.
func (s *Store) Corrupt(err error) error { return s.classify(err) }

func (s *Store) corrupt(cause error) error {
	reason := cause.Error()
	var se *sqlite3.Error
	if errors.As(cause, &se) {
		reason = "sqlite refused to open file: " + se.Error()
	}
	snap, _ := board.QuarantineCopy(s.path, s.opts.QuarantineDir, "detected", s.clock())
	s.markDamaged(reason, snap)
	// The verdict kanban-recover gives too (one detector): a file with a
	// sane header, or any b-tree page, or a -wal, is a board to salvage.
	notDB := sqlitefile.NotADatabase(s.path, board.WAL(s.path))
	// So is a -journal beside a missing or empty database (kanban-recover
	// check's FreshOnly): old page copies of one transaction, not a board.
	var ee *board.EmptyDBError
	if errors.As(cause, &ee) && ee.Suffix == board.JournalSuffix {
		notDB = true
	}
	return &CorruptError{Path: s.path, Reason: reason, Snapshot: snap, Board: s.opts.Board, NotSQLite: notDB, Err: cause}
}

// HeaderError is an invalid SQLite header, found before SQLite opens it.
type HeaderError struct {
	Path      string
	First32   []byte
	TLSOffset int // -1 when no TLS record signature was seen
}

func (e *HeaderError) Error() string {
	tls := ""
	if e.TLSOffset >= 0 {
		tls = fmt.Sprintf(" (TLS record header detected at byte offset %d)", e.TLSOffset)
	}
	return fmt.Sprintf("file is not a database: invalid SQLite header for %s%s; first_32=%s", e.Path, tls, hex.EncodeToString(e.First32))
}

func (e *HeaderError) Unwrap() error { return sqlite3.NOTADB }

// checkHeader validates the first bytes of a non-empty file. A plain read
// is safe for us: our SQLite uses OFD locks, which closing another
// descriptor of the file cannot drop.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read header: %w", err)
	}
	defer f.Close()
	buf := make([]byte, 100)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("read header: %w", err)
	}
	buf = buf[:n]
	if n >= 16 && string(buf[:16]) == sqlitefile.HeaderMagic && n == 100 {
		return nil
	}
	first := buf[:min(32, n)]
	return &HeaderError{Path: path, First32: first, TLSOffset: tlsOffset(first)}
}

// tlsOffset finds a TLS record header (content type 20–23, version 3.x):
// the signature of a socket write that landed in the database file.
func tlsOffset(b []byte) int {
	for i := 0; i+2 < len(b); i++ {
		if b[i] >= 0x14 && b[i] <= 0x17 && b[i+1] == 0x03 && b[i+2] <= 0x04 {
			return i
		}
	}
	return -1
}
