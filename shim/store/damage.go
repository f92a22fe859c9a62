package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/migrate"
)

// Damaged is the board's damage marker as Open found it (nil: the board
// was not marked). While a marker exists every write is refused
// (Refuse); reads work, and the CLI warns once.
func (s *Store) Damaged() *board.Damage { return s.damage }

// Refuse returns a *board.DamagedError when the board is marked damaged
// now (one failed open(2) when it is not). Write calls it under the
// lease, before BEGIN, so a marker another process recorded since Open
// stops the next write.
func (s *Store) Refuse() error { return board.Refuse(s.path, s.opts.Board) }

// HealthCheck runs PRAGMA quick_check on the board (the daemon's periodic
// check). It takes no lock: the read transaction sees one consistent
// state, so a failure is damage, never a torn view. Damage is handled as
// any corruption this store meets: a forensic snapshot, the damage marker,
// and a *CorruptError whose Reason starts with "quick_check:".
func (s *Store) HealthCheck(ctx context.Context) error {
	s.conn.SetInterrupt(ctx)
	msgs, err := migrate.QuickCheck(s.conn)
	if err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return s.classify(err)
	}
	if len(msgs) == 0 {
		return nil
	}
	if len(msgs) > 3 {
		msgs = append(msgs[:3], fmt.Sprintf("and %d more", len(msgs)-3))
	}
	return s.corrupt(errors.New("quick_check: " + strings.Join(msgs, "; ")))
}

// markDamaged records the damage marker for what was seen (the first
// detection wins; see board.RecordDamage) and remembers it. A marker that
// cannot be written (read-only directory) is logged, not fatal: the
// command fails on the damage anyway.
func (s *Store) markDamaged(seen, snapshot string) {
	d, _, err := board.RecordDamage(s.path, board.Damage{Seen: seen, Snapshot: snapshot})
	if err != nil {
		s.log.Warn("warning: could not record the damage marker: " + err.Error())
		return
	}
	s.damage = &d
}
