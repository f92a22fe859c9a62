package board

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/fsutil"
)

// SQLite's lock bytes in a database file (the same in every process and
// every VFS that interoperates with SQLite's unix VFS).
const (
	pendingByte  = 0x40000000
	reservedByte = pendingByte + 1
	sharedFirst  = pendingByte + 2
	sharedSize   = 510
)

// ErrJournalBusy means a hot -journal could not be copied because a
// writer kept the database locked; try again.
var ErrJournalBusy = errors.New("the board is locked by a writer")

// HotJournal reports whether the board db has a hot -journal: a writer
// died in the middle of a transaction (the journal is there, its header
// is not zeroed, the database is not empty and nobody holds SQLite's
// RESERVED lock). SQLite rolls such a journal back into the database the
// moment anyone reads it: a write, which read-only work must not do.
func HotJournal(db string) (bool, error) {
	fi, err := os.Stat(Journal(db))
	if errors.Is(err, fs.ErrNotExist) || (err == nil && (fi.Size() == 0 || !fi.Mode().IsRegular())) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	f, err := os.Open(db)
	if err != nil {
		return false, err
	}
	defer f.Close()
	return hot(f, db)
}

// hot is HotJournal's test on the open database f.
func hot(f *os.File, db string) (bool, error) {
	if fi, err := f.Stat(); err != nil || fi.Size() == 0 {
		return false, err
	}
	first := make([]byte, 1)
	j, err := os.Open(Journal(db))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = j.ReadAt(first, 0)
	j.Close()
	if err != nil || first[0] == 0 {
		return false, nil
	}
	held, err := lockHeld(f, reservedByte, 1)
	return !held, err
}

// CopyHotJournal copies the board db, its -journal and (when there is
// one) its -wal into the new directory dir while holding SQLite's SHARED
// lock on db, so that nobody can roll the journal back or start a new
// transaction mid-copy. SQLite opening the copy rolls the journal back
// there, never in the board. copied is "" when the journal was no longer
// hot once the lock was held (someone rolled it back meanwhile): open the
// board normally then.
func CopyHotJournal(db, dir string, wait time.Duration) (copied string, err error) {
	f, err := os.Open(db)
	if err != nil {
		return "", err
	}
	defer f.Close()
	unlock, err := sharedLock(f, wait)
	if err != nil {
		return "", err
	}
	defer unlock()
	if h, err := hot(f, db); err != nil || !h {
		return "", err
	}
	copied = filepath.Join(dir, filepath.Base(db))
	for _, suf := range []string{"", JournalSuffix, WALSuffix} {
		err := fsutil.CopyNew(db+suf, copied+suf, 0o600, false)
		if err != nil && !(suf == WALSuffix && errors.Is(err, fs.ErrNotExist)) {
			return "", fmt.Errorf("copy %s: %w", db+suf, err)
		}
	}
	return copied, nil
}

// sharedLock takes SQLite's SHARED lock on f the way SQLite does (no
// writer's PENDING lock, then a read lock on the shared range), retrying
// for up to wait while a writer holds PENDING or EXCLUSIVE.
func sharedLock(f *os.File, wait time.Duration) (unlock func(), err error) {
	deadline := time.Now().Add(wait)
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		pending, err := lockHeldWrite(f, pendingByte, 1)
		if err != nil {
			return nil, err
		}
		if !pending {
			ok, err := readLock(f, sharedFirst, sharedSize)
			if err != nil {
				return nil, err
			}
			if ok {
				return func() { _ = unlockRange(f, sharedFirst, sharedSize) }, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, ErrJournalBusy
		}
		time.Sleep(delay)
	}
}
