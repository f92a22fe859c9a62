package migrate

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"
)

// TestBackup_retentionAndNames writes seven backups, two in the same
// second, and checks the five newest survive in order.
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
		p, err := Backup(context.Background(), c, dir, base.Add(time.Duration(off)*time.Second))
		if err != nil {
			t.Fatalf("backup %d: %v", i, err)
		}
		made = append(made, filepath.Base(p))
	}
	if made[3] != "pre-migrate-20260501T000002Z-2.db" {
		t.Errorf("same-second backup named %s", made[3])
	}
	bs, err := ListBackups(dir)
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
	stale := filepath.Join(dir, "pre-migrate-20260101T000000Z.db.tmp")
	os.WriteFile(stale, []byte("half"), 0o644)
	if bs, _ := ListBackups(dir); len(bs) != 0 {
		t.Fatalf("temp file listed as backup: %v", bs)
	}
	if _, err := Backup(context.Background(), c, dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp still there: %v", err)
	}
}
