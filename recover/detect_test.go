package recover_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/sqlitefile"
	"github.com/kanbanshim/kanbanshim/recover"
)

// tableLeaf512 is a 512-byte table leaf page holding one row (rowid 1, a
// single integer column 1), its cell at the end of the page.
func tableLeaf512() []byte {
	p := make([]byte, 512)
	cell := []byte{3, 1, 2, 1, 1} // payload 3 bytes, rowid 1, record: header 2, type 1, value 1
	off := len(p) - len(cell)
	p[0] = sqlitefile.TypeTableLeaf
	binary.BigEndian.PutUint16(p[3:], 1)
	binary.BigEndian.PutUint16(p[5:], uint16(off))
	binary.BigEndian.PutUint16(p[8:], uint16(off))
	copy(p[off:], cell)
	return p
}

// TestNotADatabase_oneVerdict: kanban (sqlitefile.NotADatabase, at open),
// kanban-recover check (KindNotSQLite) and its salvage (ErrNotDatabase
// from Load) give the same verdict on every file. Before they had two
// detectors (256 and 4,096 sampled pages per page size): a 1 MiB file of
// text holding one b-tree page at 512-byte page 2..8 was "not a
// database, start fresh" to kanban and a board to salvage to
// kanban-recover.
func TestNotADatabase_oneVerdict(t *testing.T) {
	dir := t.TempDir()
	text := bytes.Repeat([]byte("not a board. "), (1<<20)/13+1)[:1<<20]
	files := map[string][]byte{"text": text}
	for pg := 2; pg <= 12; pg++ {
		b := bytes.Clone(text)
		copy(b[(pg-1)*512:], tableLeaf512())
		files["one b-tree page at 512-byte page "+strconv.Itoa(pg)] = b
	}
	empty := filepath.Join(dir, "no tables.db") // a database without one cell
	c, err := sqlite3.Open(empty)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Exec("PRAGMA user_version=1"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	hdr, err := os.ReadFile(empty)
	if err != nil {
		t.Fatal(err)
	}
	files["text under a sane header"] = append(hdr[:100:100], text[:len(hdr)-100]...)
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name+".db"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	databases := 0
	for name := range files {
		checkOneVerdict(t, filepath.Join(dir, name+".db"), &databases)
	}
	checkOneVerdict(t, empty, &databases)
	if databases < 2 || databases == len(files)+1 {
		t.Fatalf("%d of %d files are databases: the cases do not cover both verdicts", databases, len(files)+1)
	}
}

func checkOneVerdict(t *testing.T, db string, databases *int) {
	t.Helper()
	kanban := sqlitefile.NotADatabase(db, board.WAL(db))
	rep, err := recover.Check(ctx(t), recover.CheckOptions{DBPath: db})
	if err != nil {
		t.Fatal(err)
	}
	_, lerr := recover.Load(ctx(t), db)
	salvage := errors.Is(lerr, recover.ErrNotDatabase)
	if kanban != rep.Has(recover.KindNotSQLite) || kanban != salvage {
		t.Errorf("%s: not a database: kanban %v, kanban-recover check %v, salvage %v (%v)",
			filepath.Base(db), kanban, rep.Has(recover.KindNotSQLite), salvage, lerr)
	}
	if !kanban {
		*databases++
	}
}
