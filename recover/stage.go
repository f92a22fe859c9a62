package recover

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/migrate"
)

// verifyBoard opens a replacement board and checks that it is one: it
// passes integrity_check and has the current kanban schema (extra legacy
// columns are fine). It returns the board's journal mode. The file is
// opened read-write so SQLite settles its own -wal; closing it must leave
// no -wal behind, or the file alone would not be the whole board.
func verifyBoard(ctx context.Context, path string) (mode string, err error) {
	c, err := sqlite3.OpenFlags(path, sqlite3.OPEN_READWRITE)
	if err != nil {
		return "", fmt.Errorf("%w: open %s: %w", ErrNewInvalid, path, err)
	}
	c.SetInterrupt(ctx)
	mode, err = inspectBoard(ctx, c)
	if cerr := c.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("%w: close %s: %w", ErrNewInvalid, path, cerr)
	}
	if err != nil {
		return "", err
	}
	if fi, err := os.Stat(board.WAL(path)); err == nil && fi.Size() > 0 {
		return "", fmt.Errorf("%w: %s-wal still holds %d bytes after closing (is the file open elsewhere?)", ErrNewInvalid, path, fi.Size())
	}
	return mode, nil
}

// inspectBoard runs the checks of verifyBoard on an open connection.
func inspectBoard(ctx context.Context, c *sqlite3.Conn) (string, error) {
	msgs, err := migrate.IntegrityCheck(c)
	if err != nil {
		if ctx.Err() != nil {
			return "", context.Cause(ctx)
		}
		return "", fmt.Errorf("%w: %w", ErrNewInvalid, err)
	}
	if len(msgs) > 0 {
		return "", fmt.Errorf("%w: integrity_check: %s", ErrNewInvalid, strings.Join(msgs[:min(3, len(msgs))], "; "))
	}
	insp, err := migrate.Inspect(ctx, c)
	if err != nil {
		return "", fmt.Errorf("%w: read schema: %w", ErrNewInvalid, err)
	}
	drift, err := migrate.Conformity(ctx, insp)
	if err != nil {
		return "", err
	}
	if faults := migrate.Faults(drift); len(faults) > 0 {
		names := make([]string, 0, 3)
		for _, d := range faults[:min(3, len(faults))] {
			names = append(names, d.String())
		}
		return "", fmt.Errorf("%w: not a current kanban board (%d schema differences: %s)", ErrNewInvalid, len(faults), strings.Join(names, "; "))
	}
	return migrate.JournalMode(c)
}

// headerJournalMode reads the journal mode from a database header (bytes
// 18 and 19: 2 for WAL, 1 for rollback journals); "" when the header is
// not readable as one.
func headerJournalMode(db string) string {
	hdr, _, err := readHead(db, 100)
	if err != nil {
		return ""
	}
	h := ParseHeader(hdr)
	switch {
	case !h.Magic:
		return ""
	case h.WriteVersion == 2 && h.ReadVersion == 2:
		return "wal"
	case h.WriteVersion == 1 && h.ReadVersion == 1:
		return "delete"
	}
	return ""
}

// wantMode is the journal mode the new board gets: the original's, so a
// board shared with a Python whose SQLite forces DELETE mode stays so;
// else the configured fallback; else WAL.
func (s *swapper) wantMode() string {
	if m := headerJournalMode(s.db); m != "" {
		return m
	}
	if strings.EqualFold(s.o.JournalMode, "delete") {
		return "delete"
	}
	if s.missing && !exists(board.WAL(s.db)) && exists(board.Journal(s.db)) {
		return "delete" // all that is left of the board is a rollback journal
	}
	return "wal"
}

// stage puts the replacement in the board's directory, as the file the
// commit renames: the replacement itself when it is already there, else a
// fsynced copy at <db>.swap.tmp. A copy is quick_checked after copying,
// and the journal mode is set to the original's (on our own file, which
// nobody else has open).
func (s *swapper) stage(ctx context.Context) error {
	want := s.wantMode()
	s.staged = s.newPath
	if filepath.Dir(s.newPath) != s.dir {
		s.staged = board.SwapStagedPath(s.db)
		for _, suf := range board.WithSidecars {
			if err := board.RemoveIfExists(s.fs, s.staged+suf); err != nil {
				return fmt.Errorf("remove stale %s: %w", s.staged+suf, err)
			}
		}
		if err := board.CopyInto(s.fs, s.newPath, s.staged); err != nil {
			return fmt.Errorf("copy the replacement next to the board: %w", err)
		}
		s.rep.Copied = true
	}
	if s.rep.Copied || s.newMode != want {
		if err := setJournalMode(ctx, s.staged, want); err != nil {
			return err
		}
	}
	if err := s.syncFile(s.staged); err != nil {
		return err
	}
	for _, suf := range []string{board.WALSuffix, board.SHMSuffix} {
		if err := board.RemoveIfExists(s.fs, s.staged+suf); err != nil {
			return err
		}
	}
	s.rep.JournalMode = want
	return nil
}

// setJournalMode quick_checks the staged file and switches its journal
// mode to want.
func setJournalMode(ctx context.Context, path, want string) (err error) {
	c, err := sqlite3.OpenFlags(path, sqlite3.OPEN_READWRITE)
	if err != nil {
		return fmt.Errorf("open staged copy: %w", err)
	}
	defer func() {
		if cerr := c.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close staged copy: %w", cerr)
		}
	}()
	c.SetInterrupt(ctx)
	msgs, err := migrate.QuickCheck(c)
	if err != nil {
		return fmt.Errorf("staged copy: %w", err)
	}
	if len(msgs) > 0 {
		return fmt.Errorf("%w: staged copy fails quick_check: %s", ErrNewInvalid, strings.Join(msgs, "; "))
	}
	got, err := migrate.JournalMode(c)
	if err != nil || got == want {
		return err
	}
	if err := c.Exec("PRAGMA journal_mode=" + want); err != nil {
		return fmt.Errorf("set journal mode of the staged copy: %w", err)
	}
	if got, err = migrate.JournalMode(c); err == nil && got != want {
		err = fmt.Errorf("staged copy stayed in %s mode", got)
	}
	return err
}

// syncFile fsyncs an existing file through the FS.
func (s *swapper) syncFile(path string) error {
	f, err := s.fs.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// quickCheck opens the board, quick_checks it and returns its journal mode.
func quickCheck(ctx context.Context, db string) (mode string, err error) {
	c, err := sqlite3.OpenFlags(db, sqlite3.OPEN_READWRITE)
	if err != nil {
		return "", err
	}
	defer func() {
		if cerr := c.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	c.SetInterrupt(ctx)
	msgs, err := migrate.QuickCheck(c)
	if err != nil {
		return "", err
	}
	if len(msgs) > 0 {
		return "", fmt.Errorf("quick_check: %s", strings.Join(msgs, "; "))
	}
	return migrate.JournalMode(c)
}
