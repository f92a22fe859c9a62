package recover_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kanbanshim/kanbanshim/fixtures/legacy"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/migrate"
	"github.com/kanbanshim/kanbanshim/recover"
)

// TestSalvage_legacyLayoutWithoutSchema: an early-May board migrated the
// upstream way has its later columns ALTER-appended, so its physical
// column order is not the canonical one. With the whole schema lost, the
// salvager must still put its tasks and subscriptions back, column by
// column, by trying the upstream ALTER-appended order as well as the
// canonical one; the legacy columns (spawn_failures, last_spawn_error)
// survive as extra columns.
func TestSalvage_legacyLayoutWithoutSchema(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "board.db")
	if err := legacy.Generate(ctx(t), db, "early-may-2026", legacy.Options{Journal: "delete"}); err != nil {
		t.Fatal(err)
	}
	c := openDB(t, db)
	if _, err := migrate.Apply(ctx(t), c, migrate.Options{Now: legacy.Epoch}); err != nil {
		t.Fatal(err)
	}
	cols, err := sqlx.QueryStrings(c, "SELECT name FROM pragma_table_info('tasks')")
	if err != nil || len(cols) < 30 || cols[12] != "claim_lock" {
		t.Fatalf("not the ALTER-appended layout: %v %v", cols, err)
	}
	// One page holds the whole schema: zeroing it loses all of it.
	for _, q := range []string{"PRAGMA page_size=65536", "VACUUM"} {
		if err := c.Exec(q); err != nil {
			t.Fatal(q, err)
		}
	}
	const tasksQ = `SELECT id || '|' || title || '|' || status || '|' || coalesce(claim_expires, '-') || '|' ||
		coalesce(skills, '-') || '|' || consecutive_failures || '|' || coalesce(last_failure_error, '-') || '|' ||
		spawn_failures || '|' || goal_mode FROM tasks ORDER BY id`
	const subsQ = `SELECT task_id || '|' || platform || '|' || chat_id || '|' || thread_id || '|' || coalesce(user_id, '-') || '|' ||
		last_event_id || '|' || delivery_mode FROM kanban_notify_subs ORDER BY task_id, platform`
	wantTasks, err := sqlx.QueryStrings(c, tasksQ)
	if err != nil {
		t.Fatal(err)
	}
	wantSubs, err := sqlx.QueryStrings(c, subsQ)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	data, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	clear(data[100:65536])
	if err := os.WriteFile(db, data, 0o644); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "out.db")
	rep, err := recover.Salvage(ctx(t), recover.SalvageOptions{DBPath: db, OutPath: out, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if tr := rep.Table("tasks"); tr == nil || tr.SchemaSource != recover.SchemaBuiltin {
		t.Fatalf("tasks schema source = %+v, want builtin (the schema is gone)", tr)
	}
	oc := openDB(t, out)
	integrityOK(t, oc)
	gotTasks, err := sqlx.QueryStrings(oc, tasksQ)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(gotTasks, "\n") != strings.Join(wantTasks, "\n") {
		t.Errorf("tasks:\n got  %q\n want %q", gotTasks, wantTasks)
	}
	gotSubs, err := sqlx.QueryStrings(oc, subsQ)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(gotSubs, "\n") != strings.Join(wantSubs, "\n") {
		t.Errorf("subscriptions:\n got  %q\n want %q", gotSubs, wantSubs)
	}
	t.Logf("lost_and_found %d, notes %q", rep.LostAndFound, rep.Notes)
}
