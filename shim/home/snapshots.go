package home

import (
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/kanbanshim/kanbanshim/board"
)

// EnvSnapshotInterval overrides kanban.snapshot_interval_seconds.
const EnvSnapshotInterval = "HERMES_KANBAN_SNAPSHOT_INTERVAL_SECONDS"

// DefaultSnapshotInterval is how often kanban daemon snapshots each board
// when nothing says otherwise.
const DefaultSnapshotInterval = time.Hour

// Snapshots is where the board's verified snapshots are kept.
func (t Target) Snapshots() string { return filepath.Join(t.Dir, board.Snapshot.Dir) }

// SnapshotKeep is kanban.snapshot_keep: how many verified snapshots of a
// board are kept (board.SnapshotKeep, 3, when absent). Anything but a
// whole number >= 1 is an error wrapping ErrConfigValue.
func SnapshotKeep(cfg Config) (int, error) {
	n, ok, err := cfg.Int("snapshot_keep")
	switch {
	case err != nil:
		return 0, err
	case !ok:
		return board.SnapshotKeep, nil
	case n < 1 || n > math.MaxInt32:
		return 0, fmt.Errorf("kanban.snapshot_keep must be >= 1, got %d: %w", n, ErrConfigValue)
	}
	return int(n), nil
}

// SnapshotInterval is how often kanban daemon snapshots each board:
// HERMES_KANBAN_SNAPSHOT_INTERVAL_SECONDS, else
// kanban.snapshot_interval_seconds, else an hour (see Seconds). 0 turns
// the daemon's snapshots off; a negative or non-numeric value is an error
// wrapping ErrConfigValue.
func SnapshotInterval(env Env, cfg Config) (time.Duration, error) {
	return Seconds(env, EnvSnapshotInterval, cfg, "snapshot_interval_seconds", "", DefaultSnapshotInterval)
}
