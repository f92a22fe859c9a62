// Package lockd holds the flock(2)-based coordination every kanbanshim
// process uses around a board database: the per-board write lease
// (<db>.lease), the open guard (<db>.open), upstream-compatible named locks
// (<db>.init.lock, <db>.dispatch.lock), the maintenance hold a swap or a
// resolve takes (Maintain), read-only diagnostics (who has the board
// open, who holds a flock; the /proc reading is internal/proc's), and the
// signal drain helper that turns SIGTERM/SIGINT/SIGHUP into context
// cancellation. File names come from package board.
//
// The protocol is described in README.md. In short: lock files live next
// to the database, are opened O_RDWR|O_CREATE|O_CLOEXEC, are never unlinked
// or renamed, and the kernel lock is the only truth; any content written
// into a lock file is for diagnostics.
package lockd
