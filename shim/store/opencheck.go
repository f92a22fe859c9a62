package store

import (
	"context"
	"errors"
	"os"

	"github.com/kanbanshim/kanbanshim/migrate"
)

// What every open does so that reading a board never writes it, and a
// board SQLite would silently show wrong is refused instead.

// checkFiles runs the open-time damage checks (migrate.CheckFiles) before
// anything is written: a -wal whose frame chain breaks with intact
// commits after the break (always), and the root page of every table and
// index (unless a damage marker already says the board is damaged).
// Damage is corruption like any other (s.corrupt): a forensic snapshot,
// the damage marker, and a *CorruptError naming the repair command.
func (s *Store) checkFiles(ctx context.Context) error {
	err := migrate.CheckFiles(ctx, s.conn, s.path, s.damage == nil)
	var de *migrate.DamageError
	if errors.As(err, &de) {
		return s.corrupt(de)
	}
	return s.classify(err)
}

// openHotCopy serves a read verb on a board with a hot -journal (see
// migrate.OpenHotCopy): the store reads the private copy, read-only, and says so
// in one line. The board keeps its -journal for its next writer. ok is
// false when the journal was not hot after all, or when the board needs a
// schema migration: the command is then a writer, and opens the board.
func (s *Store) openHotCopy(ctx context.Context) (ok bool, err error) {
	c, dir, err := migrate.OpenHotCopy(ctx, s.path)
	if err != nil || c == nil {
		return false, s.classify(err)
	}
	steps, err := migrate.Plan(ctx, c, migrate.Options{Now: s.now()})
	if err != nil || len(steps) > 0 {
		c.Close()
		os.RemoveAll(dir)
		return false, s.classify(err)
	}
	s.conn, s.hotCopy = c, dir
	s.opts.ReadOnly = true
	s.roReason = "board " + s.path + " has an interrupted transaction that its next writer rolls back; this command only read a copy"
	s.log.Warn("note: " + s.path + " has an interrupted transaction (a writer died mid-write); showing the board without it, read from a private copy; the next write rolls it back in the board")
	return true, nil
}
