// Package recover is the core of kanban-recover: it checks a board, reads
// every row it can straight from the database pages when SQLite cannot,
// writes them into a fresh board, compares boards, swaps a repaired board
// in, and keeps verified snapshots to restore what a salvage lost.
//
// Check, Salvage and Diff work on a scratch copy of db, -wal and -shm
// (copy.go): the original files are only ever read, never opened by
// SQLite. Snapshot and Repair read the live board through SQLite, on
// connections that never checkpoint (migrate.OpenLive).
//
// The salvage pipeline:
//
//	Load     (image.go, header.go, wal.go)  page size from the header, the WAL or by
//	                                        scoring every size; committed WAL frames
//	                                        laid over the main file's pages
//	Extract  (extract.go, schema.go,        schema from page 1 (or from orphaned schema
//	          btree.go, cell.go, record.go, leaves, or the canonical kanban schema);
//	          overflow.go, freelist.go,     every table b-tree walked tolerating bad
//	          rehome.go)                    pages; unreachable, non-freelist leaves
//	                                        re-homed into tables by record shape
//	write    (write.go, insert.go)          a fresh board from migrate's schema, rows
//	                                        inserted by column name, integrity_check,
//	                                        fsync and an atomic no-clobber link
//
// What the pages held that could not be read is a Loss (loss.go,
// lossscan.go, witness.go): unreadable pages by table, and rows known lost
// by key, named by index entries (witness.go) and by rows of other tables
// that refer to them; Salvage, Diff and Auto all report it.
//
// Check (check.go, invariants.go) and Diff (diff.go) use the same copy and
// reader. Deleted rows do not come back: freelist pages and the free space
// inside pages are never scanned. Rows re-homed without a schema are tried
// in today's column order and in the ALTER-appended order of migrated
// early-May-2026 boards (layout.go).
//
// Swap (swap.go, stage.go, commit.go, holders.go) is the only code that
// replaces a live board: under the write lease in maintenance mode and
// the exclusive open guard, refusing while other processes have the board
// open, it verifies and stages the replacement, links the original into a
// quarantine set (board.Quarantine), blocks the board (board.Block: its
// sidecars held aside, a directory at the -wal's name) and renames the
// replacement over the db; an interrupted swap is resolved by
// lockd.ResolveSwap (resolve.go), as kanban's open resolves it. Every file operation goes through
// board.FS so tests can fail any one of them. Auto (auto.go) is check,
// then REINDEX for index-only damage (repair.go) or salvage, diff and
// swap, then check again.
//
// The damage marker (board.Damage) is recorded and cleared here for
// kanban-recover (mark.go: CheckAndMark). Snapshot (snapshot.go) keeps
// verified copies of a healthy board; a salvage fills what it lost from
// the newest one (restore.go). The command line is package cli.
package recover
