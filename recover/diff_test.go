package recover_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kanbanshim/kanbanshim/fixtures"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/recover"
)

// TestDiff_knownChanges edits a copy of a clean board and expects exactly
// those edits, by primary key.
func TestDiff_knownChanges(t *testing.T) {
	m, err := fixtures.ReadManifest(fixtureDir, "clean-delete")
	if err != nil {
		t.Fatal(err)
	}
	oldPath := copyFixture(t, m)
	newPath := filepath.Join(t.TempDir(), "new.db")
	copyFileT(t, oldPath, newPath)
	keys := m.Must.Keys("tasks")
	c := openDB(t, newPath)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM tasks WHERE id IN (?, ?, ?)`, []any{keys[0], keys[1], keys[2]}},
		{`INSERT INTO tasks (id, title, status, created_at) VALUES ('t_ffffffff', 'new', 'todo', 1777600000)`, nil},
		{`UPDATE tasks SET title = 'renamed' WHERE id = ?`, []any{keys[5]}},
		{`DELETE FROM task_comments WHERE id = (SELECT min(id) FROM task_comments)`, nil},
	} {
		if _, err := sqlx.Exec(c, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	r, err := recover.Diff(ctx(t), oldPath, newPath)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	r.Text(&buf)
	want := map[string]string{
		"tasks":         "tasks: 3 only-old, 1 only-new, 1 changed, 28 same",
		"task_comments": "task_comments: 1 only-old, 0 only-new, 0 changed,",
		"task_events":   "task_events: 0 only-old, 0 only-new, 0 changed,",
	}
	for _, line := range strings.Split(buf.String(), "\n") {
		table, _, _ := strings.Cut(line, ":")
		if w, ok := want[table]; ok && !strings.HasPrefix(line, w) {
			t.Errorf("got %q, want prefix %q", line, w)
		}
	}
	td := r.Tables[0]
	if td.Table != "tasks" || strings.Join(td.OnlyOldKeys, ",") != strings.Join(keys[:3], ",") ||
		td.ChangedKeys[0] != keys[5] || td.OnlyNewKeys[0] != "t_ffffffff" {
		t.Errorf("tasks diff = %+v", td)
	}
	if r.OldReadBy != recover.ReadBySQLite || r.NewReadBy != recover.ReadBySQLite {
		t.Errorf("read by %s/%s", r.OldReadBy, r.NewReadBy)
	}
}

// TestDiff_damagedVsSalvaged compares a damaged board (read by the
// salvager) with its salvaged copy (read by SQLite): they must agree.
func TestDiff_damagedVsSalvaged(t *testing.T) {
	m, err := fixtures.ReadManifest(fixtureDir, "interior-zeroed")
	if err != nil {
		t.Fatal(err)
	}
	src := copyFixture(t, m)
	out := filepath.Join(t.TempDir(), "out.db")
	if _, err := recover.Salvage(ctx(t), recover.SalvageOptions{DBPath: src, OutPath: out}); err != nil {
		t.Fatal(err)
	}
	r, err := recover.Diff(ctx(t), src, out)
	if err != nil {
		t.Fatal(err)
	}
	if r.OldReadBy != recover.ReadBySalvage || r.NewReadBy != recover.ReadBySQLite {
		t.Errorf("read by %s/%s", r.OldReadBy, r.NewReadBy)
	}
	if !r.Equal() {
		var buf bytes.Buffer
		r.Text(&buf)
		t.Errorf("damaged and salvaged differ:\n%s%+v", buf.String(), r.Tables)
	}
}
