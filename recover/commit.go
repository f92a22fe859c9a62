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
)

// The commit (phase B) cannot be a single rename: the original -wal must
// be gone before the new db appears, or SQLite would replay it over the
// new file. So the live -wal and -shm are first renamed aside, to
// <db>.swap-wal and <db>.swap-shm (the same inodes: renaming them back
// restores them exactly), then the staged file is renamed over the db,
// and only then do the held sidecars join the quarantine set. A journal,
// <db>.swap.pending, is written first: a failure puts the sidecars back
// at once, and a crash in between is undone (or finished) by the next
// Swap or Auto (resolvePending) before anything looks at the board.

// pendingSwap is the journal of a commit in progress.
type pendingSwap struct {
	Set    string   `json:"set"`    // the quarantine set holding the original db
	Added  []string `json:"added"`  // files this swap linked into the set
	Staged string   `json:"staged"` // the file being renamed over the db
	Copied bool     `json:"copied"` // Staged is our copy, not the caller's file
}

func (s *swapper) pendingPath() string { return s.db + pendingSuffix }

func holdPath(db, suf string) string { return db + holdInfix + suf }

// commit moves the original sidecars aside and renames the staged file
// over the db. Before that rename every failure restores the sidecars and
// returns with the original intact; after it the swap is done.
func (s *swapper) commit() error {
	for _, suf := range []string{"-wal", "-shm"} {
		if exists(holdPath(s.db, suf)) {
			return s.abort(fmt.Errorf("%s exists: a sidecar held by an earlier swap; move it back to %s%s or into %s by hand",
				holdPath(s.db, suf), s.db, suf, s.qdir))
		}
	}
	if err := s.writePending(); err != nil {
		return s.abort(err)
	}
	var held []string
	for _, suf := range []string{"-wal", "-shm"} {
		if !exists(s.db + suf) {
			continue
		}
		if err := s.fs.Rename(s.db+suf, holdPath(s.db, suf)); err != nil {
			return s.rollback(held, err)
		}
		held = append(held, suf)
	}
	if err := s.fs.SyncDir(s.dir); err != nil {
		return s.rollback(held, err)
	}
	if err := s.fs.Rename(s.staged, s.db); err != nil {
		return s.rollback(held, err)
	}
	s.rep.Swapped = true
	if err := s.fs.SyncDir(s.dir); err != nil {
		return fmt.Errorf("swapped, but fsync of %s failed (the original is in %s): %w", s.dir, s.set.dir, err)
	}
	if err := shelve(s.fs, s.db, s.set.dir); err != nil {
		s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("the original -wal/-shm are still at %s*: %v", s.db+holdInfix, err))
		return nil // the journal stays; the next run moves them
	}
	if err := s.fs.Remove(s.pendingPath()); err != nil {
		s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("remove %s: %v", s.pendingPath(), err))
	}
	return nil
}

// writePending writes and fsyncs the journal.
func (s *swapper) writePending() (err error) {
	data, err := json.Marshal(pendingSwap{Set: s.set.dir, Added: s.set.added, Staged: s.staged, Copied: s.rep.Copied})
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

// rollback renames held sidecars back, then undoes phase A. If one cannot
// be put back the journal stays, so the next run finishes the job.
func (s *swapper) rollback(held []string, cause error) error {
	var errs []error
	for _, suf := range held {
		if err := s.fs.Rename(holdPath(s.db, suf), s.db+suf); err != nil {
			errs = append(errs, fmt.Errorf("put back %s%s: %w", s.db, suf, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(append([]error{cause}, errs...)...)
	}
	if err := s.fs.Remove(s.pendingPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("remove %s: %v", s.pendingPath(), err))
	}
	if len(held) > 0 {
		if err := s.fs.SyncDir(s.dir); err != nil {
			s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("fsync %s: %v", s.dir, err))
		}
	}
	return s.abort(cause)
}

// shelve moves the held sidecars of a committed swap into its quarantine
// set; a file the (reused) set already holds is dropped instead.
func shelve(fsys FS, db, set string) error {
	base := filepath.Base(db)
	for _, suf := range []string{"-wal", "-shm"} {
		hold, dst := holdPath(db, suf), filepath.Join(set, base+suf)
		switch {
		case !exists(hold):
			continue
		case exists(dst):
			if err := fsys.Remove(hold); err != nil {
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
// there, or the db is still the inode linked into the set), the held
// sidecars are renamed back and the set's alias of the live db removed;
// if it had, the held sidecars are moved into the set. Then the journal
// goes.
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
	note := "finished an interrupted swap: its held -wal/-shm moved into " + p.Set
	if s.committed(p) {
		if err := shelve(s.fs, s.db, p.Set); err != nil {
			return "", fmt.Errorf("finish interrupted swap: %w", err)
		}
	} else {
		if err := s.undoPending(p); err != nil {
			return "", fmt.Errorf("undo interrupted swap: %w", err)
		}
		note = "undid an interrupted swap: the board's own -wal/-shm are back in place"
	}
	if err := s.fs.Remove(s.pendingPath()); err != nil {
		return "", err
	}
	return note, s.fs.SyncDir(s.dir)
}

// undoPending restores the state before an uncommitted swap.
func (s *swapper) undoPending(p pendingSwap) error {
	for _, suf := range []string{"-wal", "-shm"} {
		hold := holdPath(s.db, suf)
		if !exists(hold) {
			continue
		}
		if exists(s.db + suf) {
			return fmt.Errorf("both %s and %s%s exist; keep the one that belongs to the board by hand", hold, s.db, suf)
		}
		if err := s.fs.Rename(hold, s.db+suf); err != nil {
			return err
		}
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
func SwapPending(dbPath string) bool { return exists(dbPath + pendingSuffix) }

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
