package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ncruces/go-sqlite3"
)

// sqlExec runs statements on the board with SQLite directly, the way a
// damaging bug or another tool would.
func sqlExec(t *testing.T, path string, stmts ...string) {
	t.Helper()
	c, err := sqlite3.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, s := range stmts {
		if err := c.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// damageIndex makes idx_tasks_status disagree with its table: one row is
// indexed under the wrong key, which integrity_check reports as an
// index-only error ("row N missing from index …").
func damageIndex(t *testing.T, path string) {
	sqlExec(t, path, "PRAGMA writable_schema=ON",
		"UPDATE sqlite_schema SET sql = 'CREATE INDEX idx_tasks_status ON tasks(title)' WHERE name = 'idx_tasks_status'")
	sqlExec(t, path, "INSERT INTO tasks (id, title, status, created_at) VALUES ('t_0000beef', 'indexed by title', 'ready', 1)")
	sqlExec(t, path, "PRAGMA writable_schema=ON",
		"UPDATE sqlite_schema SET sql = 'CREATE INDEX idx_tasks_status          ON tasks(status)' WHERE name = 'idx_tasks_status'")
}

func integrity(t *testing.T, path string) string {
	t.Helper()
	c, err := sqlite3.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, _, err := c.Prepare("PRAGMA integrity_check")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var rows []string
	for st.Step() {
		rows = append(rows, st.ColumnText(0))
	}
	return strings.Join(rows, "\n")
}

func TestRepair_IndexOnlyDamageIsRebuilt(t *testing.T) {
	e := newVerbsEnv(t)
	e.create(t, "first")
	e.create(t, "second")
	damageIndex(t, e.dbPath())
	if got := integrity(t, e.dbPath()); !strings.Contains(got, "missing from index idx_tasks_status") {
		t.Fatalf("fixture: integrity_check = %q, want index damage", got)
	}
	out, errs, code := e.run(t, "repair")
	if code != 0 || errs != "" {
		t.Fatalf("repair: exit %d, stderr %q", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || lines[0] != e.dbPath()+": repaired." || lines[1] != "  reindexed: idx_tasks_status" ||
		!strings.HasPrefix(lines[2], "  pre-repair backup: "+filepath.Join(e.root, "kanban", "boards", "default", "quarantine")+"/") ||
		lines[3] != "  integrity_check now ok." {
		t.Fatalf("repair output:\n%s", out)
	}
	snap := strings.TrimPrefix(lines[2], "  pre-repair backup: ")
	if integrity(t, filepath.Join(snap, "kanban.db")) == "ok" {
		t.Errorf("the quarantine copy should hold the damaged state")
	}
	if got := integrity(t, e.dbPath()); got != "ok" {
		t.Errorf("after repair integrity_check = %q", got)
	}
	if out := e.must(t, "list", "--status", "ready"); strings.Count(out, "\n") != 3 {
		t.Errorf("list after repair:\n%s", out)
	}
	out = e.must(t, "repair", "--json")
	if !strings.Contains(out, `"status": "ok"`) {
		t.Errorf("second repair: %s", out)
	}
}

func TestRepair_IndexOnlyDamageJSON(t *testing.T) {
	e := newVerbsEnv(t)
	e.create(t, "first")
	damageIndex(t, e.dbPath())
	out, errs, code := e.run(t, "repair", "--json")
	if code != 0 || errs != "" {
		t.Fatalf("repair --json: exit %d, stderr %q", code, errs)
	}
	for _, want := range []string{
		`"status": "repaired",`, `"db_path": "` + e.dbPath() + `",`, `"messages": [` + "\n    \"row ",
		`"post_repair_messages": [` + "\n    \"ok\"\n  ],", `"reindexed": [` + "\n    \"idx_tasks_status\"\n  ]",
		`"backup_path": "` + filepath.Join(e.root, "kanban", "boards", "default", "quarantine"),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("repair --json lacks %q:\n%s", want, out)
		}
	}
}

// Damage to a table page is not repairable in place: CORRUPT, exit 1,
// and the file is left byte-identical.
func TestRepair_TableDamageFailsClosed(t *testing.T) {
	e := newVerbsEnv(t)
	for i := 0; i < 40; i++ {
		e.create(t, strings.Repeat("a long title to fill pages ", 8))
	}
	sqlExec(t, e.dbPath(), "PRAGMA wal_checkpoint(TRUNCATE)")
	data, err := os.ReadFile(e.dbPath())
	if err != nil {
		t.Fatal(err)
	}
	pageSize := 4096
	for p := 2; p*pageSize < len(data); p++ { // clobber every page but the schema page
		copy(data[(p-1)*pageSize+8:], bytes.Repeat([]byte{0xA5}, 64))
	}
	if err := os.WriteFile(e.dbPath(), data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code := e.run(t, "repair")
	if code != 1 || out != "" {
		t.Fatalf("repair: exit %d, stdout %q", code, out)
	}
	for _, want := range []string{e.dbPath() + ": CORRUPT.\n",
		"  Not an index-only failure — automatic REINDEX repair does not apply (fail-closed).\n",
		"  corrupt copy quarantined at: ", "`kanban-recover auto --board default`"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	after, err := os.ReadFile(e.dbPath())
	if err != nil || !bytes.Equal(after, data) {
		t.Errorf("repair changed the damaged file (err %v)", err)
	}
}
