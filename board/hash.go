package board

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
)

// ContentHash is the sha256 of the database file followed by its -wal and
// its -journal (absent ones add nothing): the identity of a board state.
// Quarantine sets are named after it, so kanban's detection snapshots and
// kanban-recover's swapped originals dedupe alike. A hot -journal is part
// of the state: without it the db is half-written. The -shm is not: it is
// rebuilt from the -wal.
func ContentHash(db string) (string, error) {
	return HashFiles(db, WAL(db), Journal(db))
}

// HeldHash is ContentHash of a board blocked by a swap: the db and the
// held -wal and -journal.
func HeldHash(db string) (string, error) {
	return HashFiles(db, HoldPath(db, WALSuffix), HoldPath(db, JournalSuffix))
}

// HashFiles hashes the contents of the regular files among paths, in
// order; absent paths and directories add nothing.
func HashFiles(paths ...string) (string, error) {
	h := sha256.New()
	for _, p := range paths {
		if fi, err := os.Stat(p); errors.Is(err, os.ErrNotExist) || (err == nil && fi.IsDir()) {
			continue
		}
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sameBytes reports whether two files have identical contents.
func sameBytes(a, b string) bool {
	ha, err1 := HashFiles(a)
	hb, err2 := HashFiles(b)
	return err1 == nil && err2 == nil && ha == hb
}
