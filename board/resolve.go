package board

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// ResolveSwap finishes or undoes a swap that a crash interrupted during
// its commit, and returns what it did ("" when no journal was there).
// kanban (on open), kanban-recover swap and auto all resolve through it.
// The caller holds the board's write lease in maintenance mode and its
// open guard (lockd.Maintain), so nothing else moves these files.
//
// If the commit's rename had not happened (the db is not the staged
// file's inode), the board is unblocked with its own sidecars and the
// set's alias of the live db removed; if it had, the block goes and the
// held sidecars join the quarantine set. If the db changed since the
// journal was written (the block was removed by hand and the db
// written), the held files are kept in the set, the board is left as it
// is, and the error matches ErrSwapDiverged. Then the journal goes.
func ResolveSwap(fsys FS, db string) (string, error) {
	db, err := filepath.Abs(db)
	if err != nil {
		return "", err
	}
	j, err := readSwapJournal(db)
	if j == nil || err != nil {
		return "", err
	}
	if j.Set == "" {
		return "removed an incomplete swap journal", fsys.Remove(SwapPendingPath(db))
	}
	note := "finished an interrupted swap: its held -wal/-shm/-journal moved into " + j.Set
	var diverged error
	switch {
	case committed(db, j):
		if err := Finish(fsys, db, j.Set); err != nil {
			return "", fmt.Errorf("finish interrupted swap: %w", err)
		}
	case dbChanged(db, j) && HoldsContent(db):
		diverged = keepDiverged(fsys, db, j)
		if !errors.Is(diverged, ErrSwapDiverged) {
			return "", fmt.Errorf("interrupted swap: %w", diverged)
		}
	default:
		if err := undo(fsys, db, j); err != nil {
			return "", fmt.Errorf("undo interrupted swap: %w", err)
		}
		note = "undid an interrupted swap: the board's own -wal/-shm/-journal are back in place"
	}
	if err := fsys.Remove(SwapPendingPath(db)); err != nil {
		return "", err
	}
	if err := fsys.SyncDir(filepath.Dir(db)); err != nil {
		return "", err
	}
	if diverged != nil {
		return "", diverged
	}
	return note, nil
}

// dbChanged tells whether the db is not the one the journal recorded:
// another file, or any file where the board had none (a swap of a board
// whose db was missing: nothing may have created one meanwhile).
func dbChanged(db string, j *SwapJournal) bool {
	switch {
	case j.NoDB:
		return exists(db)
	case j.DB == nil: // a journal written before identities were kept
		return false
	}
	return !sameID(j.DB, db)
}

// committed tells whether an interrupted swap got as far as its rename.
func committed(db string, j *SwapJournal) bool {
	if j.StagedIno != 0 {
		id, err := StatID(db)
		return err == nil && id.Ino == j.StagedIno
	}
	if exists(j.Staged) {
		return false
	}
	setDB := filepath.Join(j.Set, filepath.Base(db))
	return !slices.Contains(j.Added, setDB) || !sameFile(db, setDB)
}

// keepDiverged handles an uncommitted swap whose db changed after the
// journal was written: putting the held -wal back would replay old
// frames over newer pages, so the held files go into the quarantine set
// instead, the set's alias of the live db is dropped, and the board is
// left as it is.
func keepDiverged(fsys FS, db string, j *SwapJournal) error {
	if err := dropAliases(fsys, db, j.Added); err != nil {
		return err
	}
	if err := Finish(fsys, db, j.Set); err != nil {
		return err
	}
	if j.Copied {
		if err := RemoveIfExists(fsys, j.Staged); err != nil {
			return err
		}
	}
	return fmt.Errorf("%s: %w; the held files (commits the board does not have) are kept in %s", db, ErrSwapDiverged, j.Set)
}

// undo restores the state before an uncommitted swap.
func undo(fsys FS, db string, j *SwapJournal) error {
	if err := Unblock(fsys, db); err != nil {
		return err
	}
	if err := dropAliases(fsys, db, j.Added); err != nil {
		return err
	}
	_ = fsys.Remove(j.Set) // only succeeds if the set is now empty
	if j.Copied {
		return RemoveIfExists(fsys, j.Staged)
	}
	return nil
}

// dropAliases removes the files a swap linked into its set that are the
// live db itself (the same inode), so no set aliases a live file.
func dropAliases(fsys FS, db string, added []string) error {
	for _, f := range added {
		if sameFile(f, db) {
			if err := fsys.Remove(f); err != nil {
				return err
			}
		}
	}
	return nil
}

// sameFile reports whether two paths name the same inode.
func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}
