// Package sqlitefile reads the parts of SQLite's file format that
// kanbanshim has to judge without SQLite: the -wal's frame chain (salts,
// cumulative checksums, commit frames) and the headers of b-tree pages.
//
// SQLite itself never says that a -wal holds intact commits after a broken
// frame (it silently stops at the break, and drops them at the next
// checkpoint), and it cannot be asked about a file whose header is gone.
// kanban's open, kanban-migrate and kanban-recover's salvage all need
// those answers, so the one parser lives here, below every package that
// uses it. It imports nothing of kanbanshim.
package sqlitefile
