package board

// RepairCommand is the command that repairs the board at db, as every
// kanbanshim message names it: `kanban-recover auto --board <slug>` when
// the board is known by its slug, else `kanban-recover auto --db <path>`
// (a database named by path, HERMES_KANBAN_DB, --db). It is the only
// place the command is spelled, so every message changes together.
func RepairCommand(db, slug string) string {
	if slug != "" {
		return "kanban-recover auto --board " + slug
	}
	return "kanban-recover auto --db " + db
}
