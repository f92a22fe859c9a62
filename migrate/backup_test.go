package migrate

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
)

// TestBackup_retentionAndNames writes seven backups, two in the same
// second, and checks the five newest survive in order, named after the
// database.
func TestBackup_retentionAndNames(t *testing.T) {
	db := legacyBoard(t, "drifted", "wal")
	c, err := sqlite3.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dir := filepath.Join(t.TempDir(), "backups")
	base := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	var made []string
	for i, off := range []int{0, 1, 2, 2, 3, 4, 5} {
		p, err := Backup(context.Background(), c, db, dir, base.Add(time.Duration(off)*time.Second))
		if err != nil {
			t.Fatalf("backup %d: %v", i, err)
		}
		made = append(made, filepath.Base(p))
	}
	if made[3] != "kanban.db.pre-migrate-20260501T000002Z-2.db" {
		t.Errorf("same-second backup named %s", made[3])
	}
	bs, err := board.Backup.List(dir, db)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range bs {
		got = append(got, filepath.Base(b.Path))
	}
	want := made[2:]
	if len(got) != BackupKeep || got[0] != want[0] || got[4] != want[4] || got[1] != want[1] {
		t.Errorf("kept %v, want %v", got, want)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != BackupKeep {
		t.Errorf("%d files in backups dir (tmp or sidecar left behind?)", len(ents))
	}
}

// TestBackup_perDatabase: two databases backed up into one directory
// (boards given with --db side by side) each keep their own five; a
// backup written by an earlier version, whose name does not say which
// database it belongs to, is never pruned.
func TestBackup_perDatabase(t *testing.T) {
	a := legacyBoard(t, "drifted", "")
	other := filepath.Join(filepath.Dir(a), "other.db")
	if err := os.Link(a, other); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "backups")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	legacy := filepath.Join(dir, "pre-migrate-20250101T000000Z.db")
	if err := os.WriteFile(legacy, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := range 8 {
		for _, db := range []string{a, other} {
			c, err := sqlite3.Open(db)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Backup(context.Background(), c, db, dir, base.Add(time.Duration(i)*time.Second))
			c.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, db := range []string{a, other} {
		bs, err := board.Backup.List(dir, db)
		if err != nil {
			t.Fatal(err)
		}
		if len(bs) != BackupKeep || !bs[0].When.Equal(base.Add(3*time.Second)) {
			t.Errorf("%s: %d backups kept, oldest %v", filepath.Base(db), len(bs), bs)
		}
	}
	if _, err := os.Stat(legacy); err != nil {
		t.Errorf("the unattributed legacy backup was pruned: %v", err)
	}
}

// TestBackup_removesStaleTemp: a temp file left by a killed backup is
// cleaned up and never counted as a backup.
func TestBackup_removesStaleTemp(t *testing.T) {
	db := legacyBoard(t, "drifted", "")
	c, err := sqlite3.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dir := t.TempDir()
	stale := filepath.Join(dir, "kanban.db.pre-migrate-20260101T000000Z.db.tmp")
	os.WriteFile(stale, []byte("half"), 0o644)
	if bs, _ := board.Backup.ListAll(dir); len(bs) != 0 {
		t.Fatalf("temp file listed as backup: %v", bs)
	}
	if _, err := Backup(context.Background(), c, db, dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp still there: %v", err)
	}
}
