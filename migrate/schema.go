// Package migrate owns the board schema: the DDL a fresh board is created
// from, the ordered steps that bring an older board up to date, and the
// inspection that tells which of them are still pending.
//
// It is the single source of truth used by `kanban` (on first open),
// `kanban-migrate` (the explicit, observable path) and `kanban-recover`
// (which builds its fresh database from the same DDL). The schema and the
// order of the steps follow upstream hermes' own migration pass exactly, so
// a board touched by either side ends up identical, column order included.
package migrate

// baseTables are the core tables as upstream's SCHEMA_SQL creates them on a
// fresh board. completion_contract is deliberately absent from tasks:
// upstream adds it only in its migration pass, so even a fresh board gets it
// appended last, and we reproduce that physical layout.
var baseTables = []string{
	`CREATE TABLE IF NOT EXISTS tasks (
    id                   TEXT PRIMARY KEY,
    title                TEXT NOT NULL,
    body                 TEXT,
    assignee             TEXT,
    status               TEXT NOT NULL,
    priority             INTEGER DEFAULT 0,
    created_by           TEXT,
    created_at           INTEGER NOT NULL,
    started_at           INTEGER,
    completed_at         INTEGER,
    workspace_kind       TEXT NOT NULL DEFAULT 'scratch',
    workspace_path       TEXT,
    branch_name          TEXT,
    project_id           TEXT,
    claim_lock           TEXT,
    claim_expires        INTEGER,
    tenant               TEXT,
    result               TEXT,
    idempotency_key      TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    worker_pid           INTEGER,
    last_failure_error   TEXT,
    max_runtime_seconds  INTEGER,
    last_heartbeat_at    INTEGER,
    current_run_id       INTEGER,
    workflow_template_id TEXT,
    current_step_key     TEXT,
    skills               TEXT,
    model_override       TEXT,
    provider_override    TEXT,
    reasoning_effort     TEXT,
    max_retries          INTEGER,
    goal_mode            INTEGER NOT NULL DEFAULT 0,
    goal_max_turns       INTEGER,
    session_id           TEXT,
    block_kind           TEXT,
    block_recurrences    INTEGER NOT NULL DEFAULT 0
)`,
	`CREATE TABLE IF NOT EXISTS task_links (
    parent_id  TEXT NOT NULL,
    child_id   TEXT NOT NULL,
    PRIMARY KEY (parent_id, child_id)
)`,
	`CREATE TABLE IF NOT EXISTS task_comments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id    TEXT NOT NULL,
    author     TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL
)`,
	`CREATE TABLE IF NOT EXISTS task_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id    TEXT NOT NULL,
    run_id     INTEGER,
    kind       TEXT NOT NULL,
    payload    TEXT,
    created_at INTEGER NOT NULL
)`,
	`CREATE TABLE IF NOT EXISTS task_runs (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id             TEXT NOT NULL,
    profile             TEXT,
    step_key            TEXT,
    status              TEXT NOT NULL,
    claim_lock          TEXT,
    claim_expires       INTEGER,
    worker_pid          INTEGER,
    max_runtime_seconds INTEGER,
    last_heartbeat_at   INTEGER,
    started_at          INTEGER NOT NULL,
    ended_at            INTEGER,
    outcome             TEXT,
    summary             TEXT,
    metadata            TEXT,
    error               TEXT
)`,
	`CREATE TABLE IF NOT EXISTS task_attachments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id      TEXT NOT NULL,
    filename     TEXT NOT NULL,
    stored_path  TEXT NOT NULL,
    content_type TEXT,
    size         INTEGER NOT NULL DEFAULT 0,
    uploaded_by  TEXT,
    created_at   INTEGER NOT NULL
)`,
	`CREATE TABLE IF NOT EXISTS kanban_notify_subs (
    task_id       TEXT NOT NULL,
    platform      TEXT NOT NULL,
    chat_id       TEXT NOT NULL,
    thread_id     TEXT NOT NULL DEFAULT '',
    user_id       TEXT,
    user_id_alt   TEXT,
    chat_type     TEXT,
    notifier_profile TEXT,
    delivery_mode TEXT NOT NULL DEFAULT 'notify',
    delivery_metadata TEXT,
    created_at    INTEGER NOT NULL,
    last_event_id INTEGER NOT NULL DEFAULT 0,
    last_ping_event_id INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (task_id, platform, chat_id, thread_id)
)`,
}

// index is one index of the canonical schema.
type index struct {
	name, table, sql string
	cols             []string // columns it needs; created only when all exist
}

// baseIndexes are the indexes of upstream's SCHEMA_SQL.
var baseIndexes = []index{
	{"idx_tasks_assignee_status", "tasks", `CREATE INDEX IF NOT EXISTS idx_tasks_assignee_status ON tasks(assignee, status)`, []string{"assignee", "status"}},
	{"idx_tasks_status", "tasks", `CREATE INDEX IF NOT EXISTS idx_tasks_status          ON tasks(status)`, []string{"status"}},
	{"idx_links_child", "task_links", `CREATE INDEX IF NOT EXISTS idx_links_child           ON task_links(child_id)`, []string{"child_id"}},
	{"idx_links_parent", "task_links", `CREATE INDEX IF NOT EXISTS idx_links_parent          ON task_links(parent_id)`, []string{"parent_id"}},
	{"idx_comments_task", "task_comments", `CREATE INDEX IF NOT EXISTS idx_comments_task         ON task_comments(task_id, created_at)`, []string{"task_id", "created_at"}},
	{"idx_events_task", "task_events", `CREATE INDEX IF NOT EXISTS idx_events_task           ON task_events(task_id, created_at)`, []string{"task_id", "created_at"}},
	{"idx_runs_task", "task_runs", `CREATE INDEX IF NOT EXISTS idx_runs_task             ON task_runs(task_id, started_at)`, []string{"task_id", "started_at"}},
	{"idx_runs_status", "task_runs", `CREATE INDEX IF NOT EXISTS idx_runs_status           ON task_runs(status)`, []string{"status"}},
	{"idx_attachments_task", "task_attachments", `CREATE INDEX IF NOT EXISTS idx_attachments_task      ON task_attachments(task_id, created_at)`, []string{"task_id", "created_at"}},
	{"idx_notify_task", "kanban_notify_subs", `CREATE INDEX IF NOT EXISTS idx_notify_task           ON kanban_notify_subs(task_id)`, []string{"task_id"}},
}

// recipeTables are created by upstream's migration pass (step 1).
var recipeTables = []string{
	`CREATE TABLE IF NOT EXISTS recipe_instances (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    recipe_id TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    definition_digest TEXT NOT NULL,
    request_digest TEXT NOT NULL,
    definition_json TEXT NOT NULL,
    inputs_json TEXT NOT NULL,
    bindings_json TEXT NOT NULL,
    effective_plan_json TEXT NOT NULL,
    created_by TEXT,
    created_at INTEGER NOT NULL,
    imported INTEGER NOT NULL DEFAULT 0
)`,
	`CREATE TABLE IF NOT EXISTS recipe_instance_tasks (
    instance_id TEXT NOT NULL REFERENCES recipe_instances(id) ON DELETE RESTRICT,
    node_key TEXT NOT NULL,
    task_id TEXT NOT NULL UNIQUE REFERENCES tasks(id) ON DELETE RESTRICT,
    PRIMARY KEY(instance_id, node_key)
)`,
}

// lateIndexes are the indexes over columns that older boards lack; upstream
// creates them only after adding those columns (steps 5 and 6).
var lateIndexes = []index{
	{"idx_tasks_tenant", "tasks", `CREATE INDEX IF NOT EXISTS idx_tasks_tenant ON tasks(tenant)`, []string{"tenant"}},
	{"idx_tasks_idempotency", "tasks", `CREATE INDEX IF NOT EXISTS idx_tasks_idempotency ON tasks(idempotency_key)`, []string{"idempotency_key"}},
	{"idx_tasks_session_id", "tasks", `CREATE INDEX IF NOT EXISTS idx_tasks_session_id ON tasks(session_id)`, []string{"session_id"}},
	{"idx_events_run", "task_events", `CREATE INDEX IF NOT EXISTS idx_events_run ON task_events(run_id, id)`, []string{"run_id", "id"}},
}

// column is one column added by ALTER TABLE … ADD COLUMN.
type column struct {
	table, name, def string
}

// The column groups of upstream's migration pass, in its order (steps 2–4,
// 6 and 7). Order matters: ALTER appends, and we reproduce the physical
// column order upstream leaves on a migrated board.
var (
	tasksEarlyColumns = []column{
		{"tasks", "tenant", "tenant TEXT"},
		{"tasks", "result", "result TEXT"},
		{"tasks", "branch_name", "branch_name TEXT"},
		{"tasks", "project_id", "project_id TEXT"},
		{"tasks", "idempotency_key", "idempotency_key TEXT"},
	}
	tasksRenamedColumns = []column{
		{"tasks", "consecutive_failures", "consecutive_failures INTEGER NOT NULL DEFAULT 0"},
		{"tasks", "worker_pid", "worker_pid INTEGER"},
		{"tasks", "last_failure_error", "last_failure_error TEXT"},
	}
	tasksLateColumns = []column{
		{"tasks", "max_runtime_seconds", "max_runtime_seconds INTEGER"},
		{"tasks", "last_heartbeat_at", "last_heartbeat_at INTEGER"},
		{"tasks", "current_run_id", "current_run_id INTEGER"},
		{"tasks", "workflow_template_id", "workflow_template_id TEXT"},
		{"tasks", "current_step_key", "current_step_key TEXT"},
		{"tasks", "skills", "skills TEXT"},
		{"tasks", "max_retries", "max_retries INTEGER"},
		{"tasks", "model_override", "model_override TEXT"},
		{"tasks", "provider_override", "provider_override TEXT"},
		{"tasks", "reasoning_effort", "reasoning_effort TEXT"},
		{"tasks", "goal_mode", "goal_mode INTEGER NOT NULL DEFAULT 0"},
		{"tasks", "goal_max_turns", "goal_max_turns INTEGER"},
		{"tasks", "completion_contract", "completion_contract TEXT"},
		{"tasks", "session_id", "session_id TEXT"},
		{"tasks", "block_kind", "block_kind TEXT"},
		{"tasks", "block_recurrences", "block_recurrences INTEGER NOT NULL DEFAULT 0"},
	}
	eventsColumns = []column{
		{"task_events", "run_id", "run_id INTEGER"},
	}
	notifyColumns = []column{
		{"kanban_notify_subs", "last_ping_event_id", "last_ping_event_id INTEGER NOT NULL DEFAULT 0"},
		{"kanban_notify_subs", "notifier_profile", "notifier_profile TEXT"},
		{"kanban_notify_subs", "delivery_mode", "delivery_mode TEXT NOT NULL DEFAULT 'notify'"},
		{"kanban_notify_subs", "chat_type", "chat_type TEXT"},
		{"kanban_notify_subs", "user_id_alt", "user_id_alt TEXT"},
		{"kanban_notify_subs", "delivery_metadata", "delivery_metadata TEXT"},
	}
)

// rebuildSpecs hold the canonical one-line DDL used when a drifted table is
// rebuilt (step 10), and the index statements recreated afterwards. The text
// is upstream's byte for byte (including the space after the opening
// parenthesis), so sqlite_schema on a rebuilt board reads exactly as
// upstream leaves it.
var rebuildSpecs = map[string]struct {
	ddl     string
	indexes []string
}{
	"task_events": {
		`CREATE TABLE task_events ( id INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT NOT NULL, run_id INTEGER, kind TEXT NOT NULL, payload TEXT, created_at INTEGER NOT NULL)`,
		[]string{
			`CREATE INDEX idx_events_task ON task_events(task_id, created_at)`,
			`CREATE INDEX idx_events_run ON task_events(run_id, id)`,
		},
	},
	"task_comments": {
		`CREATE TABLE task_comments ( id INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT NOT NULL, author TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL)`,
		[]string{`CREATE INDEX idx_comments_task ON task_comments(task_id, created_at)`},
	},
	"task_runs": {
		`CREATE TABLE task_runs ( id INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT NOT NULL, profile TEXT, step_key TEXT, status TEXT NOT NULL, claim_lock TEXT, claim_expires INTEGER, worker_pid INTEGER, max_runtime_seconds INTEGER, last_heartbeat_at INTEGER, started_at INTEGER NOT NULL, ended_at INTEGER, outcome TEXT, summary TEXT, metadata TEXT, error TEXT)`,
		[]string{
			`CREATE INDEX idx_runs_task ON task_runs(task_id, started_at)`,
			`CREATE INDEX idx_runs_status ON task_runs(status)`,
		},
	},
	"kanban_notify_subs": {
		`CREATE TABLE kanban_notify_subs ( task_id TEXT NOT NULL, platform TEXT NOT NULL, chat_id TEXT NOT NULL, thread_id TEXT NOT NULL DEFAULT '', user_id TEXT, user_id_alt TEXT, chat_type TEXT, notifier_profile TEXT, delivery_mode TEXT NOT NULL DEFAULT 'notify', delivery_metadata TEXT, created_at INTEGER NOT NULL, last_event_id INTEGER NOT NULL DEFAULT 0, last_ping_event_id INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (task_id, platform, chat_id, thread_id))`,
		[]string{`CREATE INDEX idx_notify_task ON kanban_notify_subs(task_id)`},
	},
}

// rebuildOrder is the order drifted tables are rebuilt in.
var rebuildOrder = []string{"task_events", "task_comments", "task_runs", "kanban_notify_subs"}

// eventRenames are the legacy event kinds upstream renames once (step 9).
var eventRenames = [][2]string{
	{"ready", "promoted"},
	{"priority", "reprioritized"},
	{"spawn_auto_blocked", "gave_up"},
}

// CoreTables lists every table of the current schema, in creation order.
var CoreTables = []string{
	"tasks", "task_links", "task_comments", "task_events", "task_runs",
	"task_attachments", "kanban_notify_subs", "recipe_instances", "recipe_instance_tasks",
}
