package recover_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/fixtures"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// fixtureDir holds the committed fixtures.
var fixtureDir = filepath.Join("..", "fixtures", "testdata")

var fixedNow = func() time.Time { return time.Unix(fixtures.Epoch+86400, 0) }

// copyFixture copies a fixture's board files into a temp dir and returns
// the database path there.
func copyFixture(t testing.TB, m *fixtures.Manifest) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range m.Files {
		copyFileT(t, filepath.Join(fixtureDir, m.Name, f), filepath.Join(dir, f))
	}
	return filepath.Join(dir, "board.db")
}

func copyFileT(t testing.TB, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// hashBoard returns the sha256 of db, -wal and -shm ("" for absent files).
func hashBoard(t testing.TB, db string) [3]string {
	t.Helper()
	var out [3]string
	for i, suf := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(db + suf)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		out[i] = hex.EncodeToString(sum[:])
	}
	return out
}

func openDB(t testing.TB, path string) *sqlite3.Conn {
	t.Helper()
	c, err := sqlite3.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func integrityOK(t testing.TB, c *sqlite3.Conn) {
	t.Helper()
	rows, err := sqlx.QueryStrings(c, "PRAGMA integrity_check")
	if err != nil || len(rows) != 1 || rows[0] != "ok" {
		t.Fatalf("integrity_check = %q, %v", rows, err)
	}
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}
