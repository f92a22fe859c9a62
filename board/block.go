package board

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// A swap's commit cannot be a single rename: the original -wal (or hot
// -journal) must be gone before the new db appears, or SQLite would
// replay it over the new file; and the old db must never be openable
// without them, or a writer would build on a stale board. So the commit
// blocks the board first: an empty directory takes the -wal's name,
// swapped in with the live -wal in one step (RENAME_EXCHANGE), which
// leaves the -wal at HoldPath(db, "-wal"). SQLite (ours and Python's)
// cannot open a database whose -wal is a directory, in any journal mode,
// so from then on nobody reads or writes the board until the swap is
// finished (Finish) or undone (Unblock). The -shm and -journal are held
// aside with it.

// Block makes the board unopenable and holds its sidecars aside: the -wal
// is exchanged with an empty directory (or a directory is made where
// there is none), then -shm and -journal are renamed. Where the file
// system cannot exchange, the -wal is renamed and the directory made
// right after (a window of two system calls).
func Block(fsys FS, db string) error {
	wal, hold := WAL(db), HoldPath(db, WALSuffix)
	for attempt := 0; ; attempt++ {
		fi, err := os.Lstat(wal)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			err = fsys.Mkdir(wal, 0o700)
			if errors.Is(err, fs.ErrExist) && attempt < 3 {
				continue // a -wal appeared meanwhile: exchange it
			}
		case err != nil:
		case fi.IsDir():
			err = fmt.Errorf("%s is a directory, not a -wal; remove it by hand", wal)
		default:
			err = exchangeWithDir(fsys, wal, hold)
			if errors.Is(err, fs.ErrNotExist) && attempt < 3 {
				continue // the last connection closed and deleted it meanwhile
			}
		}
		if err != nil {
			return fmt.Errorf("block the board: %w", err)
		}
		break
	}
	for _, suf := range []string{SHMSuffix, JournalSuffix} {
		if !exists(db + suf) {
			continue
		}
		if err := fsys.Rename(db+suf, HoldPath(db, suf)); err != nil {
			return fmt.Errorf("hold %s%s aside: %w", db, suf, err)
		}
	}
	return nil
}

// exchangeWithDir leaves an empty directory at path and path's file at
// hold.
func exchangeWithDir(fsys FS, path, hold string) error {
	if err := fsys.Mkdir(hold, 0o700); err != nil {
		return err
	}
	err := fsys.Exchange(path, hold)
	if errors.Is(err, ErrNoExchange) {
		if err = fsys.Remove(hold); err == nil {
			if err = fsys.Rename(path, hold); err == nil {
				err = fsys.Mkdir(path, 0o700)
			}
		}
	}
	if err != nil {
		if isDir(hold) { // our empty directory, never exchanged
			_ = fsys.Remove(hold)
		}
		return err
	}
	return nil
}

// Unblock undoes Block: the held files go back under their own names
// (the -wal by exchange with the blocking directory, so the board is
// never openable without it) and the directory goes.
func Unblock(fsys FS, db string) error {
	wal, hold := WAL(db), HoldPath(db, WALSuffix)
	for _, suf := range []string{SHMSuffix, JournalSuffix} {
		if !exists(HoldPath(db, suf)) {
			continue
		}
		if exists(db + suf) {
			return fmt.Errorf("both %s and %s%s exist; keep the one that belongs to the board by hand", HoldPath(db, suf), db, suf)
		}
		if err := fsys.Rename(HoldPath(db, suf), db+suf); err != nil {
			return err
		}
	}
	switch {
	case exists(hold) && !isDir(hold) && isDir(wal):
		if err := fsys.Exchange(wal, hold); errors.Is(err, ErrNoExchange) {
			if err := fsys.Remove(wal); err != nil {
				return err
			}
			return fsys.Rename(hold, wal)
		} else if err != nil {
			return err
		}
		return fsys.Remove(hold) // the directory, now
	case exists(hold) && !isDir(hold) && !exists(wal):
		return fsys.Rename(hold, wal)
	case exists(hold) && !isDir(hold):
		return fmt.Errorf("both %s and %s exist; keep the one that belongs to the board by hand", hold, wal)
	case isDir(hold): // made, never exchanged
		if err := fsys.Remove(hold); err != nil {
			return err
		}
	}
	if isDir(wal) {
		return fsys.Remove(wal)
	}
	return nil
}

// Finish completes a committed swap: the blocking directory goes (the new
// board is openable from here) and the held files join the set.
func Finish(fsys FS, db, set string) error {
	if isDir(WAL(db)) {
		if err := fsys.Remove(WAL(db)); err != nil {
			return err
		}
	}
	if isDir(HoldPath(db, WALSuffix)) { // crashed between mkdir and exchange
		if err := fsys.Remove(HoldPath(db, WALSuffix)); err != nil {
			return err
		}
	}
	return shelve(fsys, db, set)
}

// shelve moves the held sidecars of a committed swap into its quarantine
// set (a file the reused set already holds is dropped instead) and marks
// the set as holding the board's original, which pruning keeps.
func shelve(fsys FS, db, set string) error {
	base := filepath.Base(db)
	for _, suf := range Sidecars {
		hold, dst := HoldPath(db, suf), filepath.Join(set, base+suf)
		switch {
		case !exists(hold) || isDir(hold):
			continue
		case exists(dst) && sameBytes(hold, dst):
			if err := fsys.Remove(hold); err != nil { // the reused set has it already
				return err
			}
		case exists(dst):
			// A reused set holds a different file of that name: keep both.
			if err := fsys.Rename(hold, freeName(dst)); err != nil {
				return err
			}
		default:
			err := fsys.Rename(hold, dst)
			if errors.Is(err, syscall.EXDEV) {
				if err = CopyInto(fsys, hold, dst); err == nil {
					err = fsys.Remove(hold)
				}
			}
			if err != nil {
				return err
			}
		}
	}
	if err := markOriginal(fsys, set); err != nil {
		return err
	}
	return fsys.SyncDir(set)
}

// HoldsContent reports whether a -wal or -journal of the board is held
// aside by a swap.
func HoldsContent(db string) bool {
	for _, suf := range []string{WALSuffix, JournalSuffix} {
		if exists(HoldPath(db, suf)) && !isDir(HoldPath(db, suf)) {
			return true
		}
	}
	return false
}

// freeName is path.1, path.2, … : the first name not taken.
func freeName(path string) string {
	for i := 1; ; i++ {
		if p := fmt.Sprintf("%s.%d", path, i); !exists(p) {
			return p
		}
	}
}
