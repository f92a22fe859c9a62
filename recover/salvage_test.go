package recover_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kanbanshim/kanbanshim/fixtures"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/recover"
)

// TestSalvage_fixtures salvages every committed fixture and checks the
// manifest exactly: every listed row back with its content, partial rows
// back, deleted or uncommitted rows absent, nothing unexpected, the output
// passing integrity_check, and the source files untouched.
func TestSalvage_fixtures(t *testing.T) {
	for _, c := range fixtures.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			m, err := fixtures.ReadManifest(fixtureDir, c.Name)
			if err != nil {
				t.Fatal(err)
			}
			src := copyFixture(t, m)
			before := hashBoard(t, src)
			out := filepath.Join(t.TempDir(), "out.db")
			rep, err := recover.Salvage(ctx(t), recover.SalvageOptions{DBPath: src, OutPath: out, Now: fixedNow})
			if err != nil {
				t.Fatal(err)
			}
			if after := hashBoard(t, src); after != before {
				t.Fatalf("source changed: %v -> %v", before, after)
			}
			checkManifest(t, m, out, rep)
		})
	}
}

func checkManifest(t *testing.T, m *fixtures.Manifest, out string, rep *recover.Report) {
	t.Helper()
	conn := openDB(t, out)
	integrityOK(t, conn)
	got, err := fixtures.Snapshot(conn)
	if err != nil {
		t.Fatal(err)
	}
	for table, rows := range m.Must {
		for k, digest := range rows {
			switch g, ok := got[table][k]; {
			case !ok:
				t.Errorf("%s %s: missing", table, k)
			case g != digest:
				t.Errorf("%s %s: content differs", table, k)
			}
		}
	}
	for table, keys := range m.Partial {
		for _, k := range keys {
			if _, ok := got[table][k]; !ok {
				t.Errorf("%s %s (partial): missing", table, k)
			}
		}
	}
	for table, keys := range m.MustNot {
		for _, k := range keys {
			if _, ok := got[table][k]; ok {
				t.Errorf("%s %s: deleted/uncommitted row came back", table, k)
			}
		}
	}
	allowed := func(table, k string) bool {
		if _, ok := m.Must[table][k]; ok {
			return true
		}
		for _, l := range []map[string][]string{m.Partial, m.Lost} {
			for _, x := range l[table] {
				if x == k {
					return true
				}
			}
		}
		return false
	}
	for table, rows := range got {
		for k := range rows {
			if !allowed(table, k) {
				t.Errorf("%s %s: unexpected row", table, k)
			}
		}
	}
	if rep.LostAndFound > m.MaxLostAndFound {
		t.Errorf("lost_and_found = %d, want <= %d", rep.LostAndFound, m.MaxLostAndFound)
	}
	n, _, err := sqlx.QueryInt(conn, "SELECT count(*) FROM sqlite_schema WHERE name = 'lost_and_found'")
	if err != nil || (n == 1) != (rep.LostAndFound > 0) {
		t.Errorf("lost_and_found table present = %d, report says %d (%v)", n, rep.LostAndFound, err)
	}
	checkLoss(t, m, rep.Loss)
	t.Logf("%s: recovered %d rows (%d partial), lost_and_found %d, page size %d (%s), wal applied %d ignored %d",
		m.Name, rep.RowsRecovered, rep.RowsPartial, rep.LostAndFound, rep.PageSize, rep.PageSizeSource, rep.WALApplied, rep.WALIgnored)
}

func TestSalvage_outputExists(t *testing.T) {
	m, err := fixtures.ReadManifest(fixtureDir, "clean-delete")
	if err != nil {
		t.Fatal(err)
	}
	src := copyFixture(t, m)
	_, err = recover.Salvage(ctx(t), recover.SalvageOptions{DBPath: src, OutPath: src})
	if !errors.Is(err, recover.ErrOutputExists) {
		t.Fatalf("err = %v, want ErrOutputExists", err)
	}
	_, err = recover.Salvage(ctx(t), recover.SalvageOptions{DBPath: src + ".nope", OutPath: src + ".out"})
	if !errors.Is(err, recover.ErrNoBoard) {
		t.Fatalf("err = %v, want ErrNoBoard", err)
	}
}

// TestSalvage_keepsLegacyColumnsAndTables: columns the canonical schema
// lacks (legacy spawn_failures, a fork's worker_started_at) and fork-only
// tables survive; rows written before an ADD COLUMN (shorter records) get
// the column default.
func TestSalvage_keepsLegacyColumnsAndTables(t *testing.T) {
	dir := t.TempDir()
	b, err := fixtures.Create(ctx(t), filepath.Join(dir, "board.db"), fixtures.BoardOptions{Seed: 5, Tasks: 6})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`ALTER TABLE tasks ADD COLUMN spawn_failures INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE tasks ADD COLUMN worker_started_at INTEGER`,
		`CREATE TABLE fork_notes (id INTEGER PRIMARY KEY, note TEXT NOT NULL, weight REAL)`,
		`INSERT INTO fork_notes (id, note, weight) VALUES (7, 'kept', 1.5), (9, 'also kept', NULL)`,
		`UPDATE tasks SET spawn_failures = 3, worker_started_at = 'unverified' WHERE rowid = 2`,
	} {
		if err := b.Conn.Exec(q); err != nil {
			t.Fatal(q, err)
		}
	}
	b.Conn.Close()
	out := filepath.Join(dir, "out.db")
	rep, err := recover.Salvage(ctx(t), recover.SalvageOptions{DBPath: b.Path, OutPath: out})
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Table("tasks").AddedColumns; len(got) != 2 {
		t.Errorf("added columns = %v", got)
	}
	c := openDB(t, out)
	integrityOK(t, c)
	got, err := sqlx.QueryStrings(c, `SELECT id || ':' || spawn_failures || ':' || coalesce(worker_started_at, '-') FROM tasks ORDER BY rowid LIMIT 3`)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !strings.HasSuffix(got[0], ":0:-") || !strings.HasSuffix(got[1], ":3:unverified") {
		t.Errorf("legacy columns = %q", got)
	}
	notes, err := sqlx.QueryStrings(c, `SELECT id || '=' || note || '/' || coalesce(weight, '-') FROM fork_notes ORDER BY id`)
	if err != nil || strings.Join(notes, ",") != "7=kept/1.5,9=also kept/-" {
		t.Errorf("fork table = %q, %v", notes, err)
	}
}

// TestSalvage_progressAndSequence: progress lines are written, and
// sqlite_sequence ends at or above every AUTOINCREMENT table's max(id).
func TestSalvage_progressAndSequence(t *testing.T) {
	m, err := fixtures.ReadManifest(fixtureDir, "interior-zeroed")
	if err != nil {
		t.Fatal(err)
	}
	src := copyFixture(t, m)
	out := filepath.Join(t.TempDir(), "out.db")
	var progress bytes.Buffer
	if _, err := recover.Salvage(ctx(t), recover.SalvageOptions{DBPath: src, OutPath: out, Progress: &progress}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "pages scanned") {
		t.Errorf("progress = %q", progress.String())
	}
	c := openDB(t, out)
	for _, table := range []string{"task_comments", "task_events", "task_runs", "task_attachments"} {
		bad, _, err := sqlx.QueryInt(c, `SELECT count(*) FROM sqlite_sequence WHERE name = ? AND seq < (SELECT max(id) FROM `+table+`)`, table)
		if err != nil || bad != 0 {
			t.Errorf("%s: sqlite_sequence below max(id) (%v)", table, err)
		}
	}
}

// TestSalvage_regeneratedFixtures regenerates every fixture at run time
// (fresh salts, fresh bytes) and checks its manifest, so the generator and
// the committed copies cannot drift apart unnoticed.
func TestSalvage_regeneratedFixtures(t *testing.T) {
	if testing.Short() {
		t.Skip("regenerating fixtures takes a few seconds")
	}
	dir := t.TempDir()
	ms, err := fixtures.GenerateAll(ctx(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		t.Run(m.Name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.db")
			rep, err := recover.Salvage(ctx(t), recover.SalvageOptions{DBPath: m.DBPath(dir), OutPath: out})
			if err != nil {
				t.Fatal(err)
			}
			checkManifest(t, m, out, rep)
		})
	}
}
