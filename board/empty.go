package board

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// EmptyDBError is a database file that is missing or zero bytes long next
// to a -wal or -journal that holds data: not an empty board, and not a
// board to create. SQLite takes a zero-byte (or, creating it, a missing)
// database for a new one and deletes that sidecar as it opens it, losing
// what it holds, so no SQLite connection may be opened on such a board.
type EmptyDBError struct {
	DB      string
	Suffix  string // WALSuffix or JournalSuffix
	Size    int64  // of the sidecar
	Missing bool   // the database file does not exist (else it is 0 bytes)
}

func (e *EmptyDBError) Error() string {
	if e.Missing {
		return fmt.Sprintf("the database file is missing but %s holds %d bytes (SQLite would start an empty board and delete it)", e.DB+e.Suffix, e.Size)
	}
	return fmt.Sprintf("the database file is empty but %s holds %d bytes (SQLite would delete it)", e.DB+e.Suffix, e.Size)
}

// Detail is Error without the database's path: what a report about the
// board says.
func (e *EmptyDBError) Detail() string {
	state, fate := "empty", "SQLite would delete it"
	if e.Missing {
		state, fate = "missing", "SQLite would start an empty board and delete it"
	}
	return fmt.Sprintf("the database file is %s but its %s holds %d bytes (%s)", state, e.Suffix, e.Size, fate)
}

// CheckEmpty returns an *EmptyDBError when the database db is missing or
// zero bytes long and its -wal or -journal holds data, nil otherwise (a
// database with content, a stat that fails, or no sidecar with data:
// a missing database is then simply no board yet, a zero-byte one an
// empty board). Every opener of a board calls it before SQLite opens it.
// A -shm alone is harmless: SQLite rebuilds it from the -wal.
func CheckEmpty(db string) error {
	fi, err := os.Stat(db)
	missing := errors.Is(err, fs.ErrNotExist)
	if !missing && (err != nil || !fi.Mode().IsRegular() || fi.Size() > 0) {
		return nil
	}
	for _, suf := range []string{WALSuffix, JournalSuffix} {
		if fi, err := os.Stat(db + suf); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
			return &EmptyDBError{DB: db, Suffix: suf, Size: fi.Size(), Missing: missing}
		}
	}
	return nil
}
