// Package board knows a board's file set: every name next to a board
// database and what may be done to them. It is the bottom of kanbanshim's
// package graph (it imports no other kanbanshim package but internal
// helpers), so kanban, kanban-recover and kanban-migrate all agree on:
//
//   - the names (names.go): SQLite's sidecars (-wal, -shm, -journal), the
//     lock files lockd takes (.lease, .open, .init.lock, .dispatch.lock,
//     .recover.lock), a swap's files (.swap.pending, .swap.tmp,
//     .swap-wal/-shm/-journal) and the damage marker (.damaged);
//   - a board state's identity, ContentHash (hash.go);
//   - the swap journal and the file operations of a swap's commit: Block,
//     Unblock, Finish, and ResolveSwap for a commit a crash interrupted
//     (journal.go, block.go, resolve.go), all through FS (fsys.go) so tests
//     can fail any one call;
//   - sets: quarantine, backup and snapshot sets, one naming, listing and
//     per-database pruning scheme (set.go, quarantine.go);
//   - the damage marker (damage.go).
//
// Locks are not here: callers hold them (lockd) around what changes files.
package board
