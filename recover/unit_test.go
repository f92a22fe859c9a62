package recover

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/kanbanshim/kanbanshim/fixtures"
)

var fixtureDir = filepath.Join("..", "fixtures", "testdata")

func readFixture(t testing.TB, name, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name, file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadVarint(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		v    uint64
		n    int
		name string
	}{
		{[]byte{0x00}, 0, 1, "zero"},
		{[]byte{0x7f}, 127, 1, "one byte max"},
		{[]byte{0x81, 0x00}, 128, 2, "two bytes"},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ^uint64(0), 9, "nine bytes"},
		{[]byte{0x81}, 0, 0, "cut"},
		{nil, 0, 0, "empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if v, n := readVarint(c.in); v != c.v || n != c.n {
				t.Errorf("readVarint(% x) = %d, %d; want %d, %d", c.in, v, n, c.v, c.n)
			}
		})
	}
}

func TestDecodeRecord(t *testing.T) {
	// header: len 5, NULL, int8, text(3), float; body: 0x2a, "abc", 1.5
	rec := []byte{5, 0, 1, 13 + 2*3, 7, 0x2a, 'a', 'b', 'c', 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}
	r, err := decodeRecord(rec, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Values) != 4 || r.Values[0].Kind != Null || r.Values[1].Int != 42 ||
		string(r.Values[2].Raw) != "abc" || r.Values[3].Real != 1.5 || r.Partial {
		t.Fatalf("got %+v", r)
	}
	cut, err := decodeRecord(rec[:8], false)
	if err != nil || !cut.Partial || cut.CutAt != 2 || string(cut.Values[2].Raw) != "ab" || cut.Values[3].Kind != Null {
		t.Fatalf("cut record = %+v, %v", cut, err)
	}
	if _, err := decodeRecord(rec[:8], true); err == nil {
		t.Fatal("a short complete record decoded")
	}
	if _, err := decodeRecord([]byte{2, 10}, true); err == nil {
		t.Fatal("reserved serial type decoded")
	}
}

func TestReadWAL_fixtures(t *testing.T) {
	for _, c := range []struct {
		name                     string
		torn                     bool
		lost, applied0, firstBad int
	}{
		{name: "clean-wal"},
		{name: "wal-torn", torn: true},
		{name: "wal-badsum", lost: 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			info, pages := readWAL(readFixture(t, c.name, "board.db-wal"), 1024)
			if !info.HeaderValid || info.TornTail != c.torn || info.LostCommits != c.lost {
				t.Fatalf("info = %+v", info)
			}
			if info.Applied == 0 || info.Applied+info.Ignored != info.Frames || len(pages) == 0 {
				t.Fatalf("info = %+v, %d pages", info, len(pages))
			}
		})
	}
	bad := readFixture(t, "clean-wal", "board.db-wal")
	bad[20] ^= 1 // salt-2: the header checksum no longer matches
	if info, _ := readWAL(bad, 0); info.HeaderValid {
		t.Fatal("header with a bad checksum accepted")
	}
	if info, _ := readWAL(readFixture(t, "clean-wal", "board.db-wal"), 4096); info.HeaderValid {
		t.Fatal("WAL with another page size accepted")
	}
}

func TestDetectPageSize(t *testing.T) {
	db := readFixture(t, "header-tls", "board.db")
	if ps := detectPageSize(db); ps != 1024 {
		t.Fatalf("detectPageSize = %d, want 1024", ps)
	}
	img, err := newImage(db, nil, false)
	if err != nil || img.PageSizeSource != SizeFromDetected || img.PageSize != 1024 {
		t.Fatalf("image = %+v, %v", img, err)
	}
	if _, err := newImage(bytes.Repeat([]byte{0xa5}, 8192), nil, false); err == nil {
		t.Fatal("garbage loaded as a database")
	}
	path := filepath.Join(t.TempDir(), "big.db")
	b, err := fixtures.Create(context.Background(), path, fixtures.BoardOptions{PageSize: 4096, Tasks: 60, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	b.Conn.Close()
	db4k, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	db4k[16], db4k[17] = 0x04, 0x00 // a valid-looking but wrong size: 1024
	if img, err := newImage(db4k, nil, false); err != nil || img.PageSize != 4096 || img.PageSizeSource != SizeFromDetected {
		t.Fatalf("wrong header size: image %+v, %v", img, err)
	}
	copy(db4k[5:29], bytes.Repeat([]byte{0x17, 0x03, 0x03}, 8))
	if ps := detectPageSize(db4k); ps != 4096 {
		t.Fatalf("detectPageSize = %d, want 4096", ps)
	}
}

// TestLoad_walPageSize: with the header destroyed, a valid WAL supplies the
// page size.
func TestLoad_walPageSize(t *testing.T) {
	db := readFixture(t, "clean-wal", "board.db")
	copy(db[5:29], bytes.Repeat([]byte{0x17}, 24))
	img, err := newImage(db, readFixture(t, "clean-wal", "board.db-wal"), true)
	if err != nil || img.PageSizeSource != SizeFromWAL || img.PageSize != 1024 || img.WAL.Applied == 0 {
		t.Fatalf("image = %+v, %v", img, err)
	}
}

func TestExtract_provenance(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"board.db", "board.db-wal"} {
		if err := os.WriteFile(filepath.Join(dir, f), readFixture(t, "clean-wal", f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	img, err := Load(context.Background(), filepath.Join(dir, "board.db"))
	if err != nil {
		t.Fatal(err)
	}
	ex, err := Extract(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	tasks := ex.Table("tasks")
	if tasks == nil || tasks.Stats.FromWAL == 0 || tasks.Stats.FromWAL == tasks.Stats.Rows || img.Shm.Stale {
		t.Fatalf("tasks stats %+v, shm %+v", tasks.Stats, img.Shm)
	}
}
