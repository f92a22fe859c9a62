package recover

import "github.com/kanbanshim/kanbanshim/board"

// MaxQuarantineSets is how many quarantine sets a database keeps. kanban's
// own detection snapshots share the directory and the limit; sets are
// counted and pruned per database (see board.Kind.Prune).
const MaxQuarantineSets = board.QuarantineKeep

// DefaultQuarantineDir is <dir of db>/quarantine; the CLI passes the board
// directory's quarantine instead, as kanban does.
func DefaultQuarantineDir(dbPath string) string { return board.Quarantine.DefaultDir(dbPath) }

// ContentHash is the identity of a board state: see board.ContentHash.
func ContentHash(dbPath string) (string, error) { return board.ContentHash(dbPath) }
