package board

import (
	"errors"
	"io/fs"
	"os"
)

// Sidecars SQLite keeps next to a database. A board's state is the db
// together with its -wal or hot -journal; the -shm is only an index of
// the -wal.
const (
	WALSuffix     = "-wal"
	SHMSuffix     = "-shm"
	JournalSuffix = "-journal"
)

// Sidecars are the suffixes of every file SQLite may keep next to a
// database, in the order they are copied or held aside.
var Sidecars = []string{WALSuffix, SHMSuffix, JournalSuffix}

// WithSidecars is "" (the db itself) followed by Sidecars: the files that
// make up a board state, for copies.
var WithSidecars = []string{"", WALSuffix, SHMSuffix, JournalSuffix}

// WAL returns the write-ahead log of the database at db.
func WAL(db string) string { return db + WALSuffix }

// SHM returns the WAL index of the database at db.
func SHM(db string) string { return db + SHMSuffix }

// Journal returns the rollback journal of the database at db.
func Journal(db string) string { return db + JournalSuffix }

// Lock files next to the board (lockd takes them; they are never unlinked).
//
// LeasePath is the write lease. It is a file of its own, never the
// database: on NFS flock is emulated with fcntl locks and would collide
// with SQLite's own.
func LeasePath(db string) string { return db + ".lease" }

// OpenPath is the open guard: shared while a kanbanshim process has the
// board open, exclusive while a swap replaces the file.
func OpenPath(db string) string { return db + ".open" }

// InitLockPath is the schema init/migration lock: the same file upstream
// Python locks, so the two never migrate the same board at once.
func InitLockPath(db string) string { return db + ".init.lock" }

// DispatchLockPath is the dispatcher tick lock, shared with upstream's
// gateway so Go and Python dispatchers never tick together.
func DispatchLockPath(db string) string { return db + ".dispatch.lock" }

// RecoverLockPath keeps two kanban-recover runs (auto, swap) off the same
// board.
func RecoverLockPath(db string) string { return db + ".recover.lock" }

// Files of a swap in progress.
//
// SwapPendingPath is the swap journal: written before a swap moves any of
// the board's files and removed when the swap is finished or undone.
// Every opener checks it: while it exists the board is blocked (see
// Block), and a writer that opened the bare db would build on a stale
// board.
func SwapPendingPath(db string) string { return db + ".swap.pending" }

// SwapStagedPath is where a swap copies the replacement next to the
// board, so the commit is a rename within one directory.
func SwapStagedPath(db string) string { return db + ".swap.tmp" }

// HoldPath is where a swap holds the sidecar with suffix suf (one of
// Sidecars) during its commit: <db>.swap-wal, .swap-shm, .swap-journal.
func HoldPath(db, suf string) string { return db + ".swap" + suf }

// SalvagePath is where kanban-recover auto salvages the board before it
// swaps the result in (next to the board, so the swap is a rename).
func SalvagePath(db string) string { return db + ".salvage.tmp" }

// DamagedPath is the damage marker (see Damage).
func DamagedPath(db string) string { return db + ".damaged" }

// OwnFiles lists the names next to the board that belong to it besides
// the db itself: sidecars, lock files, the swap's files and the damage
// marker. A swap's replacement may be none of them (SalvagePath, auto's
// replacement, is not among them).
func OwnFiles(db string) []string {
	out := make([]string, 0, 16)
	for _, suf := range Sidecars {
		out = append(out, db+suf, HoldPath(db, suf))
	}
	return append(out, LeasePath(db), OpenPath(db), InitLockPath(db), DispatchLockPath(db),
		RecoverLockPath(db), SwapPendingPath(db), SwapStagedPath(db), DamagedPath(db))
}

// SwapPending reports whether an interrupted swap's journal is next to
// the board (anything at its name counts: a broken stat is not "absent").
func SwapPending(db string) bool { return exists(SwapPendingPath(db)) }

// exists reports whether path exists (a broken stat counts as existing,
// so nothing is restored or created over it).
func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// isDir reports whether path is a directory (not following a symlink).
func isDir(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.IsDir()
}
