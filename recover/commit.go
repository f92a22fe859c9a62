package recover

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/kanbanshim/kanbanshim/board"
)

// The commit (phase B) blocks the board, so that from its first step to
// its last no SQLite (ours or Python's) can open it (see board.Block):
//
//  1. the journal, <db>.swap.pending, is written and fsynced;
//  2. the board is blocked: an empty directory takes the -wal's name in
//     one exchange with the live -wal, which is left at <db>.swap-wal;
//  3. -shm and -journal are held aside too (<db>.swap-shm, .swap-journal);
//  4. the board's content is hashed again: a write that slipped in
//     between the checks and the block aborts the swap (ErrBoardChanged);
//  5. the staged file is renamed over the db: the commit point;
//  6. the blocking directory goes, the held files join the quarantine
//     set (board.Finish), and the journal goes.
//
// A failure before 5 puts everything back at once (rollback); a crash
// anywhere leaves the journal and the board blocked, and the next kanban
// open, Swap or Auto resolves it (board.ResolveSwap) before anything
// looks at the board.

// commit blocks the board, moves the original sidecars aside and renames
// the staged file over the db. Before that rename every failure restores
// the board and returns with the original intact; after it the swap is
// done.
func (s *swapper) commit() error {
	for _, suf := range board.Sidecars {
		if hold := board.HoldPath(s.db, suf); exists(hold) {
			return s.abort(fmt.Errorf("%s exists: a sidecar held by an earlier swap; move it back to %s%s or into %s by hand",
				hold, s.db, suf, s.qdir))
		}
	}
	j := board.SwapJournal{Set: s.set.dir, Added: s.set.added, Staged: s.staged, Copied: s.rep.Copied}
	if err := board.WriteSwapJournal(s.fs, s.db, j); err != nil {
		return s.abort(err)
	}
	if err := board.Block(s.fs, s.db); err != nil {
		return s.rollback(err)
	}
	if err := s.fs.SyncDir(s.dir); err != nil {
		return s.rollback(err)
	}
	sum, err := board.HeldHash(s.db)
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
	if err := board.Finish(s.fs, s.db, s.set.dir); err != nil {
		// The journal stays and the board may still be blocked: the
		// next kanban, Swap or Auto finishes the job.
		return errors.Join(fmt.Errorf("swapped, but the original -wal/-shm/-journal are still at %s* (the next kanban command or kanban-recover auto finishes the swap): %w",
			board.HoldPath(s.db, ""), err), serr)
	}
	if serr != nil {
		return fmt.Errorf("swapped, but fsync of %s failed (the original is in %s): %w", s.dir, s.set.dir, serr)
	}
	if err := s.fs.Remove(board.SwapPendingPath(s.db)); err != nil {
		s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("remove %s: %v", board.SwapPendingPath(s.db), err))
	}
	return nil
}

// rollback unblocks the board, then undoes phase A. If the board cannot
// be unblocked the journal stays, so the next run finishes the job.
func (s *swapper) rollback(cause error) error {
	if err := board.Unblock(s.fs, s.db); err != nil {
		return errors.Join(cause, fmt.Errorf("put the board's files back (the next kanban command or kanban-recover auto undoes the swap): %w", err))
	}
	if err := s.fs.SyncDir(s.dir); err != nil {
		s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("fsync %s: %v", s.dir, err))
	}
	pending := board.SwapPendingPath(s.db)
	if err := s.fs.Remove(pending); err != nil && !errors.Is(err, fs.ErrNotExist) {
		// The journal outlives us: keep the set and the staged file it
		// names, so the next resolve sees exactly this state and undoes it.
		return errors.Join(cause, fmt.Errorf("remove %s (the next kanban command or kanban-recover auto undoes the swap): %w", pending, err))
	}
	return s.abort(cause)
}
