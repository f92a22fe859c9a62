package board

import "github.com/kanbanshim/kanbanshim/internal/shq"

// RepairCommand is the command that repairs the board at db, as every
// kanbanshim message names it: `kanban-recover auto`, then flags, then
// `--board <slug>` when the board is known by its slug, else `--db <path>`
// (a database named by path, HERMES_KANBAN_DB, --db). Every word is
// shell-quoted, so the line pastes into a POSIX shell as it is, whatever
// the path holds (spaces, quotes, $). It is the only place the command is
// spelled, so every message changes together.
func RepairCommand(db, slug string, flags ...string) string {
	return recoverCommand("auto", db, slug, flags)
}

// CheckCommand is the command that checks a board, spelled like
// RepairCommand: `kanban-recover check --board <slug>` or `--db <path>`.
func CheckCommand(db, slug string) string { return recoverCommand("check", db, slug, nil) }

func recoverCommand(verb, db, slug string, flags []string) string {
	words := append([]string{"kanban-recover", verb}, flags...)
	if slug != "" {
		words = append(words, "--board", slug)
	} else {
		words = append(words, "--db", db)
	}
	return shq.Join(words...)
}

// FreshFlag makes kanban-recover auto move a file that holds nothing to
// salvage (not a SQLite database at all) into a quarantine set and start a
// fresh board in its place.
const FreshFlag = "--fresh"
