package migrate

// Reference is a column whose values name a row of another table by that
// table's single-column key. The board declares almost none of these as
// foreign keys (upstream's schema does not), so they are listed here, next
// to the DDL they describe: recovery uses them to name rows a damaged page
// took with it (an event still points at its task), and a repair from a
// snapshot uses them to bring a task's dependent rows back with it.
type Reference struct {
	Table, Column string // the referring column
	Target        string // the referenced table; its key is its primary key
}

// References lists every reference of the canonical schema. A test keeps it
// complete: every column holding a task id or a run id is listed.
var References = []Reference{
	{"task_links", "parent_id", "tasks"},
	{"task_links", "child_id", "tasks"},
	{"task_comments", "task_id", "tasks"},
	{"task_events", "task_id", "tasks"},
	{"task_runs", "task_id", "tasks"},
	{"task_attachments", "task_id", "tasks"},
	{"kanban_notify_subs", "task_id", "tasks"},
	{"recipe_instance_tasks", "task_id", "tasks"},
	{"recipe_instance_tasks", "instance_id", "recipe_instances"},
	{"tasks", "current_run_id", "task_runs"},
	{"task_events", "run_id", "task_runs"},
}
