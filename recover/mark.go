package recover

import (
	"context"
	"errors"
	"fmt"

	"github.com/kanbanshim/kanbanshim/board"
)

// KindUnconfirmed warns that damage a check saw could not be confirmed
// (the board changed while it was checked), so the board was not marked.
const KindUnconfirmed = "unconfirmed"

// damageProblems are the problems that mark a board damaged: the file
// itself is broken in a way SQLite refuses or that hides committed data.
// Not among them: schema drift and broken invariants (the file is
// sound), an interrupted swap (kanban resolves it at the next open), and
// a torn -wal tail (a transaction that was never acknowledged, which
// SQLite ignores as it should).
func damageProblems(r *CheckReport) []Problem {
	var out []Problem
	for _, p := range storageProblems(r) {
		if p.Kind != KindSwapPending && p.Kind != KindWALTorn {
			out = append(out, p)
		}
	}
	return out
}

// CheckAndMark is `kanban-recover check`: Check, with the verdict applied
// to the board's damage marker (board.Damage).
//
//   - A board already marked is checked in full (integrity_check), since
//     somebody saw damage there.
//   - Damage found on an unmarked board is confirmed by a second check
//     between two equal content hashes (a copy of a board being written
//     can be torn), then recorded in the marker. Unconfirmed damage is
//     reported with a KindUnconfirmed warning and not recorded.
//   - A full check that finds no damage clears a marker that was there
//     before the check began (a stale one) and says so in MarkerCleared.
//
// Report.Marker is the marker in force afterwards.
func CheckAndMark(ctx context.Context, o CheckOptions) (*CheckReport, error) {
	seen, _ := board.ReadDamage(o.DBPath)
	if seen != nil {
		o.Full = true
	}
	r, err := Check(ctx, o)
	if err != nil {
		return nil, err
	}
	switch {
	case len(damageProblems(r)) == 0:
		if o.Full {
			cleared, err := board.ClearStaleDamage(o.DBPath, seen)
			if err != nil {
				return r, fmt.Errorf("clear the damage marker: %w", err)
			}
			if cleared {
				r.MarkerCleared = seen
			}
		}
	case seen == nil:
		c, _, err := confirmCheck(ctx, o)
		if errors.Is(err, ErrBoardChanged) {
			r.warn(KindUnconfirmed, "the board changed while it was checked, so the damage is not confirmed and the board was not marked; check again when it is idle")
			break
		}
		if err != nil {
			return nil, err
		}
		r = c
		if _, err := markDamaged(o.DBPath, "kanban-recover check", r); err != nil {
			return r, err
		}
	}
	r.Marker, _ = board.ReadDamage(o.DBPath)
	return r, nil
}

// markDamaged records the board's damage marker from a check's first
// damage problem (nothing when it has none; the first detection is
// kept). It reports whether this call wrote the marker.
func markDamaged(db, who string, r *CheckReport) (bool, error) {
	ps := damageProblems(r)
	if len(ps) == 0 {
		return false, nil
	}
	seen := fmt.Sprintf("%s: %s: %s", who, ps[0].Kind, ps[0].Detail)
	if len(ps) > 1 {
		seen += fmt.Sprintf(" (and %d more problem(s))", len(ps)-1)
	}
	_, wrote, err := board.RecordDamage(db, board.Damage{Seen: seen})
	if err != nil {
		return false, fmt.Errorf("record the damage marker: %w", err)
	}
	return wrote, nil
}

// confirmCheck checks the board again between two content hashes: a copy
// taken while the content stayed the same cannot be torn. A board that
// changed under the check gives ErrBoardChanged. It returns the check and
// the hash it was taken at.
func confirmCheck(ctx context.Context, o CheckOptions) (*CheckReport, string, error) {
	before, err := board.ContentHash(o.DBPath)
	if err != nil {
		return nil, "", err
	}
	chk, err := Check(ctx, o)
	if err != nil {
		return nil, "", err
	}
	after, err := board.ContentHash(o.DBPath)
	if err != nil {
		return nil, "", err
	}
	if before != after {
		return nil, "", fmt.Errorf("the board was written to while it was being checked; run again when it is idle: %w", ErrBoardChanged)
	}
	return chk, before, nil
}
