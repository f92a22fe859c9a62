package badinput

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// DBState is a broken (or merely unusual) board file.
type DBState struct {
	Name string
	// Make creates the state at path db from the world's good board.
	Make func(t *testing.T, w *World, db string)
	// Healthy: kanban rightly opens (and initialises) it; verbs behave
	// as on an empty board.
	Healthy bool
	// SQLite: the damage is found by SQLite itself, after the header
	// check and the open guard.
	SQLite bool
	// Few: a state every verb meets the same way, through the one board
	// open; suites run a few verbs on it, not all.
	Few bool
}

// DBStates are the board files every binary is pointed at.
var DBStates = []DBState{
	{Name: "missing-dir", Healthy: true, Make: func(t *testing.T, w *World, db string) {}},
	{Name: "directory", Make: func(t *testing.T, w *World, db string) {
		if err := os.MkdirAll(db, 0o755); err != nil {
			t.Fatal(err)
		}
	}},
	{Name: "not-sqlite", Make: func(t *testing.T, w *World, db string) {
		WriteFile(t, db, []byte(strings.Repeat("this is not a database\n", 200)))
	}},
	{Name: "zero-bytes", Few: true, Healthy: true, Make: func(t *testing.T, w *World, db string) { WriteFile(t, db, nil) }},
	{Name: "truncated-header", Few: true, Make: func(t *testing.T, w *World, db string) {
		WriteFile(t, db, ReadFile(t, w.DB)[:50])
	}},
	{Name: "truncated-half", SQLite: true, Make: func(t *testing.T, w *World, db string) {
		data := ReadFile(t, w.DB)
		WriteFile(t, db, data[:len(data)/2])
	}},
	{Name: "truncated-page1", Few: true, SQLite: true, Make: func(t *testing.T, w *World, db string) {
		WriteFile(t, db, ReadFile(t, w.DB)[:4096])
	}},
	{Name: "garbage-pages", Few: true, SQLite: true, Make: func(t *testing.T, w *World, db string) {
		data := ReadFile(t, w.DB)
		for i := 4096; i < len(data); i++ {
			data[i] = byte(i * 7)
		}
		WriteFile(t, db, data)
	}},
}

// WriteFile writes path, creating its directory.
func WriteFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ReadFile reads path.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Chmod changes path's mode until t ends.
func Chmod(t testing.TB, path string, mode os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(path, st.Mode().Perm()) })
}
