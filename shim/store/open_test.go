package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/internal/host"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// testOpts are options for a board in dir with a fixed peer answer.
func testOpts(dir string, peerVersion string) Options {
	return Options{
		QuarantineDir: filepath.Join(dir, "quarantine"),
		PeerSQLite: func(context.Context) host.PeerInfo {
			return host.PeerInfo{Python: "test", Version: peerVersion, Affected: host.WALResetAffected(peerVersion)}
		},
		Filesystem: func(string) host.FSInfo { return host.FSInfo{Name: "ext4"} },
	}
}

func openTest(t *testing.T, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func journalModeOf(t *testing.T, path string) string {
	t.Helper()
	c, err := sqlite3.OpenFlags(path, sqlite3.OPEN_READONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m, _, err := sqlx.QueryText(c, "PRAGMA journal_mode")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestOpen_newBoardJournalMode(t *testing.T) {
	cases := []struct {
		name, peer, config string
		netfs              bool
		want               string
	}{
		{"fixed peer", "3.51.3", "", false, "wal"},
		{"backported peer", "3.50.7", "", false, "wal"},
		{"no peer", "", "", false, "wal"},
		{"affected peer", "3.40.1", "", false, "delete"},
		{"config delete", "3.51.3", "delete", false, "delete"},
		{"network fs", "3.51.3", "", true, "delete"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := testOpts(dir, tc.peer)
			opts.JournalMode = tc.config
			if tc.netfs {
				opts.Filesystem = func(string) host.FSInfo { return host.FSInfo{Name: "nfs", Network: true} }
			}
			db := filepath.Join(dir, "kanban.db")
			s := openTest(t, db, opts)
			if s.JournalMode() != tc.want {
				t.Errorf("JournalMode() = %s, want %s", s.JournalMode(), tc.want)
			}
			s.Close()
			if got := journalModeOf(t, db); got != tc.want {
				t.Errorf("on disk: %s, want %s", got, tc.want)
			}
		})
	}
}

// A board's existing journal mode is never changed, whatever the config
// or peer says: flipping a shared file's mode corrupts it.
func TestOpen_keepsExistingMode(t *testing.T) {
	for _, mode := range []string{"wal", "delete"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "kanban.db")
			peer := "3.51.3"
			if mode == "delete" {
				peer = "3.40.1"
			}
			openTest(t, db, testOpts(dir, peer)).Close()
			opts := testOpts(dir, map[string]string{"wal": "3.40.1", "delete": "3.51.3"}[mode])
			opts.JournalMode = map[string]string{"wal": "delete", "delete": "wal"}[mode]
			s := openTest(t, db, opts)
			if _, err := s.CreateTask(context.Background(), NewTask{Title: "x", CreatedBy: "user"}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			if got := journalModeOf(t, db); got != mode {
				t.Errorf("mode changed to %s, want %s", got, mode)
			}
		})
	}
}

func TestOpen_walOnNetworkFSRefused(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "kanban.db")
	openTest(t, db, testOpts(dir, "3.51.3")).Close()
	opts := testOpts(dir, "3.51.3")
	opts.Filesystem = func(string) host.FSInfo { return host.FSInfo{Name: "virtiofs", Network: true} }
	_, err := Open(context.Background(), db, opts)
	var ne *NetworkFSError
	if !errors.As(err, &ne) || !errors.Is(err, ErrNetworkFS) {
		t.Fatalf("err = %v, want NetworkFSError", err)
	}
	if !strings.Contains(err.Error(), "virtiofs") || !strings.Contains(err.Error(), "--allow-network-fs") {
		t.Errorf("message does not say why or how: %v", err)
	}
	opts.AllowNetworkFS = true
	openTest(t, db, opts)
}

// Damaged boards are refused with a CorruptError, snapshotted once per
// distinct content, and never re-created or modified.
func TestOpen_corruptBoardsRefused(t *testing.T) {
	damage := map[string]func(t *testing.T, db string){
		"tls record in header": func(t *testing.T, db string) {
			overwrite(t, db, 5, []byte{0x17, 0x03, 0x03, 0x00, 0x40, 0xde, 0xad, 0xbe, 0xef})
		},
		"truncated to 50 bytes": func(t *testing.T, db string) {
			if err := os.Truncate(db, 50); err != nil {
				t.Fatal(err)
			}
		},
		"garbage file": func(t *testing.T, db string) {
			if err := os.WriteFile(db, bytes.Repeat([]byte("not sqlite "), 400), 0o644); err != nil {
				t.Fatal(err)
			}
		},
		"schema page zeroed": func(t *testing.T, db string) {
			overwrite(t, db, 100, make([]byte, 4000))
		},
	}
	for name, hurt := range damage {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "kanban.db")
			s := openTest(t, db, testOpts(dir, "3.40.1"))
			if _, err := s.CreateTask(context.Background(), NewTask{Title: "keep me", CreatedBy: "user"}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			hurt(t, db)
			before, _ := os.ReadFile(db)
			for i := 0; i < 2; i++ {
				_, err := Open(context.Background(), db, testOpts(dir, "3.40.1"))
				var ce *CorruptError
				if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
					t.Fatalf("open %d: err = %v, want CorruptError", i, err)
				}
				if !strings.Contains(err.Error(), "Refusing to open corrupt kanban DB at "+db) || !strings.Contains(err.Error(), "kanban-recover auto") {
					t.Errorf("message: %v", err)
				}
				if ce.Snapshot == "" {
					t.Errorf("no snapshot: %v", err)
				}
			}
			after, _ := os.ReadFile(db)
			if !bytes.Equal(before, after) {
				t.Error("the damaged board was modified")
			}
			snaps, _ := os.ReadDir(filepath.Join(dir, "quarantine"))
			if len(snaps) != 1 {
				t.Errorf("%d snapshots, want exactly 1 for one corrupt state", len(snaps))
			}
		})
	}
}

func TestOpen_refusesForeignDatabase(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "kanban.db")
	c, err := sqlite3.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('mine')"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	_, err = Open(context.Background(), db, testOpts(dir, ""))
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "no tasks table") {
		t.Fatalf("err = %v", err)
	}
}

func TestOpen_directoryIsNotABoard(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "kanban.db")
	if err := os.Mkdir(db, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), db, testOpts(dir, "")); !errors.Is(err, ErrNotFile) {
		t.Fatalf("err = %v, want ErrNotFile", err)
	}
}

// A board created by Python's sqlite3 in DELETE mode (as upstream does on
// affected SQLite) opens and stays DELETE after our writes.
func TestOpen_pythonDeleteBoard(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not available")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "kanban.db")
	py := `import sqlite3,sys
c=sqlite3.connect(sys.argv[1]); c.execute("PRAGMA journal_mode=DELETE")
c.execute("CREATE TABLE tasks (id TEXT PRIMARY KEY, title TEXT NOT NULL, body TEXT, assignee TEXT, status TEXT NOT NULL, priority INTEGER DEFAULT 0, created_by TEXT, created_at INTEGER NOT NULL, started_at INTEGER, completed_at INTEGER, workspace_kind TEXT NOT NULL DEFAULT 'scratch', workspace_path TEXT, claim_lock TEXT, claim_expires INTEGER)")
c.execute("INSERT INTO tasks (id,title,status,created_at) VALUES ('t_00000001','from python','ready',1)"); c.commit()`
	if out, err := exec.Command("python3", "-c", py, db).CombinedOutput(); err != nil {
		t.Fatalf("python: %v %s", err, out)
	}
	s := openTest(t, db, testOpts(dir, "3.51.3"))
	task, err := s.GetTask("t_00000001")
	if err != nil || task == nil || task.Title != "from python" {
		t.Fatalf("GetTask = %+v, %v", task, err)
	}
	if _, err := s.CreateTask(context.Background(), NewTask{Title: "from go", CreatedBy: "user"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if got := journalModeOf(t, db); got != "delete" {
		t.Errorf("journal mode %s, want delete", got)
	}
}

func overwrite(t *testing.T, path string, off int64, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(data, off); err != nil {
		t.Fatal(err)
	}
}
