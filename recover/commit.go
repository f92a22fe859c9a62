package recover

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// The commit (phase B) cannot be a single rename: the original -wal (or
// hot -journal) must be gone before the new db appears, or SQLite would
// replay it over the new file; and the old db must never be openable
// without them, or a writer would build on a stale board. So:
//
//  1. a journal, <db>.swap.pending, is written and fsynced;
//  2. the board is blocked: an empty directory takes the -wal's name,
//     swapped in with the live -wal in one step (RENAME_EXCHANGE), which
//     leaves the -wal at <db>.swap-wal. SQLite (ours and Python's) cannot
//     open a database whose -wal is a directory, in any journal mode, so
//     from here on nobody reads or writes the board;
//  3. -shm and -journal are renamed aside (<db>.swap-shm, .swap-journal);
//  4. the board's content is hashed again: a write that slipped in
//     between the checks and the block aborts the swap (ErrBoardChanged);
//  5. the staged file is renamed over the db: the commit point;
//  6. the blocking directory goes, the held files join the quarantine
//     set, and the journal goes.
//
// A failure before 5 puts everything back at once; a crash anywhere
// leaves the journal and the board blocked, and the next Swap, Auto or
// kanban open (ResolveSwap) undoes or finishes it before anything looks
// at the board.

// heldSidecars are the files a swap holds aside during its commit.
var heldSidecars = []string{"-wal", "-shm", "-journal"}

// pendingSwap is the journal of a commit in progress.
type pendingSwap struct {
	Set       string   `json:"set"`    // the quarantine set holding the original db
	Added     []string `json:"added"`  // files this swap linked into the set
	Staged    string   `json:"staged"` // the file being renamed over the db
	Copied    bool     `json:"copied"` // Staged is our copy, not the caller's file
	StagedIno uint64   `json:"staged_ino,omitempty"`
	// DB is the original db's identity when the journal was written; an
	// undo refuses to put held files back over a db that no longer
	// matches it (someone removed the block and wrote).
	DB *fileID `json:"db,omitempty"`
}

// fileID is enough of a stat to tell that a file was replaced or written.
type fileID struct {
	Ino     uint64 `json:"ino"`
	Size    int64  `json:"size"`
	MtimeNs int64  `json:"mtime_ns"`
}

func statID(path string) (*fileID, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	id := &fileID{Size: fi.Size(), MtimeNs: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.Ino = uint64(st.Ino)
	}
	return id, nil
}

func (s *swapper) pendingPath() string { return lockd.SwapPendingPath(s.db) }

func holdPath(db, suf string) string { return db + holdInfix + suf }

// commit blocks the board, moves the original sidecars aside and renames
// the staged file over the db. Before that rename every failure restores
// the board and returns with the original intact; after it the swap is
// done.
func (s *swapper) commit() error {
	for _, suf := range heldSidecars {
		if exists(holdPath(s.db, suf)) {
			return s.abort(fmt.Errorf("%s exists: a sidecar held by an earlier swap; move it back to %s%s or into %s by hand",
				holdPath(s.db, suf), s.db, suf, s.qdir))
		}
	}
	if err := s.writePending(); err != nil {
		return s.abort(err)
	}
	if err := block(s.fs, s.db); err != nil {
		return s.rollback(err)
	}
	if err := s.fs.SyncDir(s.dir); err != nil {
		return s.rollback(err)
	}
	sum, err := heldHash(s.db)
	if err != nil {
		return s.rollback(err)
	}
	if sum != s.rep.OriginalSHA256 {
		return s.rollback(fmt.Errorf("%s: %w (written while the swap was checking it); run again", s.db, ErrBoardChanged))
	}
	if err := s.fs.Rename(s.staged, s.db); err != nil {
		return s.rollback(err)
	}
	s.rep.Swapped = true
	// Finish even if the fsync failed: the block must not outlive the
	// swap, or Python could not open the new board until a kanban ran.
	serr := s.fs.SyncDir(s.dir)
	if err := finish(s.fs, s.db, s.set.dir); err != nil {
		// The journal stays and the board may still be blocked: the
		// next kanban, Swap or Auto finishes the job.
		return errors.Join(fmt.Errorf("swapped, but the original -wal/-shm/-journal are still at %s* (run kanban-recover auto): %w", s.db+holdInfix, err), serr)
	}
	if serr != nil {
		return fmt.Errorf("swapped, but fsync of %s failed (the original is in %s): %w", s.dir, s.set.dir, serr)
	}
	if err := s.fs.Remove(s.pendingPath()); err != nil {
		s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("remove %s: %v", s.pendingPath(), err))
	}
	return nil
}

// block makes the board unopenable and holds its sidecars aside: the -wal
// is exchanged with an empty directory (or a directory is made where
// there is none), then -shm and -journal are renamed. Where the file
// system cannot exchange, the -wal is renamed and the directory made
// right after (a window of two system calls).
func block(fsys FS, db string) error {
	wal, hold := db+"-wal", holdPath(db, "-wal")
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
	for _, suf := range []string{"-shm", "-journal"} {
		if !exists(db + suf) {
			continue
		}
		if err := fsys.Rename(db+suf, holdPath(db, suf)); err != nil {
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

// unblock undoes block: the held files go back under their own names
// (the -wal by exchange with the blocking directory, so the board is
// never openable without it) and the directory goes.
func unblock(fsys FS, db string) error {
	wal, hold := db+"-wal", holdPath(db, "-wal")
	for _, suf := range []string{"-shm", "-journal"} {
		if !exists(holdPath(db, suf)) {
			continue
		}
		if exists(db + suf) {
			return fmt.Errorf("both %s and %s%s exist; keep the one that belongs to the board by hand", holdPath(db, suf), db, suf)
		}
		if err := fsys.Rename(holdPath(db, suf), db+suf); err != nil {
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

// finish completes a committed swap: the blocking directory goes (the new
// board is openable from here) and the held files join the set.
func finish(fsys FS, db, set string) error {
	if isDir(db + "-wal") {
		if err := fsys.Remove(db + "-wal"); err != nil {
			return err
		}
	}
	if isDir(holdPath(db, "-wal")) { // crashed between mkdir and exchange
		if err := fsys.Remove(holdPath(db, "-wal")); err != nil {
			return err
		}
	}
	return shelve(fsys, db, set)
}

// sameBytes reports whether two files have identical contents.
func sameBytes(a, b string) bool {
	ha, err1 := store.HashFiles(a)
	hb, err2 := store.HashFiles(b)
	return err1 == nil && err2 == nil && ha == hb
}

// freeName is path, or path.1, path.2, … : the first name not taken.
func freeName(path string) string {
	for i := 1; ; i++ {
		if p := fmt.Sprintf("%s.%d", path, i); !exists(p) {
			return p
		}
	}
}

func isDir(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.IsDir()
}

// heldHash is ContentHash of the board while it is blocked: the db and
// the held -wal and -journal.
func heldHash(db string) (string, error) {
	return store.HashFiles(db, holdPath(db, "-wal"), holdPath(db, "-journal"))
}

// writePending writes and fsyncs the journal.
func (s *swapper) writePending() (err error) {
	id, err := statID(s.db)
	if err != nil {
		return err
	}
	sid, err := statID(s.staged)
	if err != nil {
		return err
	}
	data, err := json.Marshal(pendingSwap{Set: s.set.dir, Added: s.set.added, Staged: s.staged, Copied: s.rep.Copied, DB: id, StagedIno: sid.Ino})
	if err != nil {
		return err
	}
	p := s.pendingPath()
	if err := removeIfExists(s.fs, p); err != nil {
		return err
	}
	f, err := s.fs.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if err != nil {
			_ = s.fs.Remove(p)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", p, err)
	}
	return s.fs.SyncDir(s.dir)
}

// rollback unblocks the board, then undoes phase A. If the board cannot
// be unblocked the journal stays, so the next run finishes the job.
func (s *swapper) rollback(cause error) error {
	if err := unblock(s.fs, s.db); err != nil {
		return errors.Join(cause, fmt.Errorf("put the board's files back (run kanban-recover auto): %w", err))
	}
	if err := s.fs.SyncDir(s.dir); err != nil {
		s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("fsync %s: %v", s.dir, err))
	}
	if err := s.fs.Remove(s.pendingPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		// The journal outlives us: keep the set and the staged file it
		// names, so the next resolve sees exactly this state and undoes it.
		return errors.Join(cause, fmt.Errorf("remove %s (run kanban-recover auto): %w", s.pendingPath(), err))
	}
	return s.abort(cause)
}

// shelve moves the held sidecars of a committed swap into its quarantine
// set; a file the (reused) set already holds is dropped instead.
func shelve(fsys FS, db, set string) error {
	base := filepath.Base(db)
	for _, suf := range heldSidecars {
		hold, dst := holdPath(db, suf), filepath.Join(set, base+suf)
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
				if err = copyInto(fsys, hold, dst); err == nil {
					err = fsys.Remove(hold)
				}
			}
			if err != nil {
				return err
			}
		}
	}
	return fsys.SyncDir(set)
}

// resolvePending finishes a swap that a crash interrupted during its
// commit. If the rename had not happened (the staged file is still
// there, or the db is still the inode linked into the set), the board is
// unblocked with its own sidecars and the set's alias of the live db
// removed; if it had, the block goes and the held sidecars are moved into
// the set. Then the journal goes.
func (s *swapper) resolvePending() (string, error) {
	data, err := os.ReadFile(s.pendingPath())
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var p pendingSwap
	if json.Unmarshal(data, &p) != nil || p.Set == "" {
		// Torn while being written: nothing had been moved yet.
		return "removed an incomplete swap journal", s.fs.Remove(s.pendingPath())
	}
	note := "finished an interrupted swap: its held -wal/-shm/-journal moved into " + p.Set
	var diverged error
	switch {
	case s.committed(p):
		if err := finish(s.fs, s.db, p.Set); err != nil {
			return "", fmt.Errorf("finish interrupted swap: %w", err)
		}
	case p.DB != nil && !sameID(p.DB, s.db) && holdsContent(s.db):
		diverged = s.keepDiverged(p)
		if !errors.Is(diverged, ErrSwapDiverged) {
			return "", fmt.Errorf("interrupted swap: %w", diverged)
		}
	default:
		if err := s.undoPending(p); err != nil {
			return "", fmt.Errorf("undo interrupted swap: %w", err)
		}
		note = "undid an interrupted swap: the board's own -wal/-shm/-journal are back in place"
	}
	if err := s.fs.Remove(s.pendingPath()); err != nil {
		return "", err
	}
	if err := s.fs.SyncDir(s.dir); err != nil {
		return "", err
	}
	if diverged != nil {
		return "", diverged
	}
	return note, nil
}

// sameID reports whether path still has the identity id.
func sameID(id *fileID, path string) bool {
	now, err := statID(path)
	return err == nil && *now == *id
}

// keepDiverged handles an uncommitted swap whose db changed after the
// journal was written (only possible if someone removed the block by hand
// and wrote): putting the held -wal back would replay old frames over
// newer pages, so the held files go into the quarantine set instead, the
// set's alias of the live db is dropped, and the board is left as it is.
func (s *swapper) keepDiverged(p pendingSwap) error {
	for _, f := range p.Added {
		if sameFile(f, s.db) {
			if err := s.fs.Remove(f); err != nil {
				return err
			}
		}
	}
	if err := finish(s.fs, s.db, p.Set); err != nil {
		return err
	}
	if p.Copied {
		if err := removeIfExists(s.fs, p.Staged); err != nil {
			return err
		}
	}
	return fmt.Errorf("%s: %w; the held files (commits the board does not have) are kept in %s", s.db, ErrSwapDiverged, p.Set)
}

// undoPending restores the state before an uncommitted swap.
func (s *swapper) undoPending(p pendingSwap) error {
	if err := unblock(s.fs, s.db); err != nil {
		return err
	}
	for _, f := range p.Added {
		if sameFile(f, s.db) {
			if err := s.fs.Remove(f); err != nil {
				return err
			}
		}
	}
	_ = s.fs.Remove(p.Set) // only succeeds if the set is now empty
	if p.Copied {
		return removeIfExists(s.fs, p.Staged)
	}
	return nil
}

// committed tells whether an interrupted swap got as far as its rename.
func (s *swapper) committed(p pendingSwap) bool {
	if p.StagedIno != 0 {
		id, err := statID(s.db)
		return err == nil && id.Ino == p.StagedIno
	}
	if exists(p.Staged) {
		return false
	}
	setDB := filepath.Join(p.Set, filepath.Base(s.db))
	return !slices.Contains(p.Added, setDB) || !sameFile(s.db, setDB)
}

// sameFile reports whether two paths name the same inode.
func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// SwapPending reports whether a swap journal is left next to the board:
// a swap was interrupted during its commit and the board may lack its
// -wal until ResolveSwap (or the next Swap or Auto) puts it back.
func SwapPending(dbPath string) bool { return lockd.SwapPending(dbPath) }

// ResolveSwap undoes or finishes an interrupted swap under the write lease
// (maintenance mode) and the open guard. It returns what it did ("" when
// there was nothing to do).
func ResolveSwap(ctx context.Context, o SwapOptions) (string, error) {
	if o.NewPath == "" {
		o.NewPath = o.DBPath
	}
	s, err := newSwapper(o)
	if err != nil {
		return "", err
	}
	if !SwapPending(s.db) {
		return "", nil
	}
	lease := lockd.NewLease(s.db)
	if err := lease.AcquireMaintenance(ctx, ToolName, "resolve swap", s.o.LeaseTimeout); err != nil {
		return "", err
	}
	defer lease.Release()
	guard, err := lockd.TryExclusive(s.db)
	if err != nil && !errors.Is(err, lockd.ErrBoardInUse) {
		return "", err
	}
	defer guard.Close()
	return s.resolvePending()
}

// holdsContent reports whether a -wal or -journal of the board is held aside.
func holdsContent(db string) bool {
	for _, suf := range []string{"-wal", "-journal"} {
		if exists(holdPath(db, suf)) && !isDir(holdPath(db, suf)) {
			return true
		}
	}
	return false
}
