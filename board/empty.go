package board

import (
	"fmt"
	"os"
)

// EmptyDBError is a zero-byte database next to a -wal or -journal that
// holds data: not an empty board. SQLite takes a zero-byte database for a
// new one and deletes that sidecar as it opens it, losing what it holds,
// so no SQLite connection may be opened on such a board.
type EmptyDBError struct {
	DB     string
	Suffix string // WALSuffix or JournalSuffix
	Size   int64  // of the sidecar
}

func (e *EmptyDBError) Error() string {
	return fmt.Sprintf("the database file is empty but %s holds %d bytes (SQLite would delete it)", e.DB+e.Suffix, e.Size)
}

// CheckEmpty returns an *EmptyDBError when the -wal or -journal of the
// zero-byte database db holds data, nil otherwise. Callers call it for a
// database they found empty, before SQLite opens it.
func CheckEmpty(db string) error {
	for _, suf := range []string{WALSuffix, JournalSuffix} {
		if fi, err := os.Stat(db + suf); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
			return &EmptyDBError{DB: db, Suffix: suf, Size: fi.Size()}
		}
	}
	return nil
}
