package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/fixtures/legacy"
)

// On a WAL board marked damaged whose -wal still holds committed frames,
// neither kanban-migrate (status, plan, a refused apply) nor kanban (a
// read, a refused write) folds the -wal into the file when its connection,
// the board's last, closes: the db and -wal stay byte-identical. (The
// torture's damage round found kanban-migrate apply doing it.)
func TestMarker_noCheckpointOnClose(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "home", "kanban.db")
	if err := os.MkdirAll(filepath.Dir(db), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := legacy.Generate(context.Background(), db, "early-may-2026", legacy.Options{Journal: "wal"}); err != nil {
		t.Fatal(err)
	}
	c, err := sqlite3.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{"PRAGMA wal_autocheckpoint=0", "UPDATE tasks SET title = title || ' (edited)'"} {
		if err := c.Exec(sql); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Config(sqlite3.DBCONFIG_NO_CKPT_ON_CLOSE, true); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := board.RecordDamage(db, board.Damage{Seen: "test"}); err != nil {
		t.Fatal(err)
	}
	before, err := board.ContentHash(db)
	if err != nil {
		t.Fatal(err)
	}
	walBefore, _ := board.HashFiles(board.WAL(db))
	if empty, _ := board.HashFiles(); walBefore == empty {
		t.Fatal("the -wal holds no frames: the test would prove nothing")
	}
	for _, run := range []struct {
		name string
		args []string
		code int
	}{
		{"kanban-migrate", []string{"status"}, 0},
		{"kanban-migrate", []string{"plan"}, 0},
		{"kanban-migrate", []string{"apply"}, 1},
		{"kanban", []string{"stats"}, -1},
		{"kanban", []string{"create", "refused"}, 1},
	} {
		cmd := command(t, dir, run.name, nil, run.args...)
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); run.code >= 0 && code != run.code {
			t.Errorf("%s %v: exit %d, want %d: %s", run.name, run.args, code, run.code, out)
		}
		if after, err := board.ContentHash(db); err != nil || after != before {
			t.Fatalf("%s %v changed the marked board (err %v): %s", run.name, run.args, err, out)
		}
	}
}
