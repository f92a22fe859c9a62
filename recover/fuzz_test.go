package recover

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// fuzzSeeds returns pages and whole files from the committed fixtures.
func fuzzSeeds(f *testing.F, pages bool) [][]byte {
	var out [][]byte
	dirs, _ := filepath.Glob(filepath.Join(fixtureDir, "*"))
	for _, d := range dirs {
		db, err := os.ReadFile(filepath.Join(d, "board.db"))
		if err != nil {
			continue
		}
		if !pages {
			out = append(out, db)
			continue
		}
		for i := 0; i+1024 <= len(db) && i < 16*1024; i += 1024 {
			out = append(out, db[i:i+1024])
		}
	}
	return out
}

func FuzzPage(f *testing.F) {
	for _, s := range fuzzSeeds(f, true) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parsePage(2, data, 0)
		if err != nil {
			return
		}
		p.looksValid()
		for i := 0; i <= p.NCells; i++ {
			p.childAt(i)
			if c, err := p.tableLeafCell(i); err == nil {
				if len(c.local) > len(data) {
					t.Fatalf("local payload %d > page %d", len(c.local), len(data))
				}
				_, _ = decodeRecord(c.local, c.overflow == 0)
			}
			_, _ = p.indexCell(i)
		}
	})
}

func FuzzRecord(f *testing.F) {
	f.Add([]byte{5, 0, 1, 19, 7, 0x2a, 'a', 'b', 'c', 0x3f, 0xf8, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{2, 10})
	f.Add([]byte{0x81, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, complete := range []bool{true, false} {
			r, err := decodeRecord(data, complete)
			if err != nil {
				continue
			}
			if len(r.Values) > len(data) {
				t.Fatalf("%d values from %d bytes", len(r.Values), len(data))
			}
			for _, v := range r.Values {
				if len(v.Raw) > len(data) {
					t.Fatal("value longer than the payload")
				}
			}
		}
	})
}

func FuzzWAL(f *testing.F) {
	dirs, _ := filepath.Glob(filepath.Join(fixtureDir, "*"))
	for _, d := range dirs {
		if w, err := os.ReadFile(filepath.Join(d, "board.db-wal")); err == nil {
			f.Add(w[:min(len(w), 32+3*(24+1024))])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, ps := range []int{0, 1024} {
			info, pages := readWAL(data, ps)
			if info.Applied+info.Ignored != info.Frames && info.HeaderValid {
				t.Fatalf("frames do not add up: %+v", info)
			}
			if len(pages) > info.Applied {
				t.Fatalf("%d pages from %d frames", len(pages), info.Applied)
			}
			for _, p := range pages {
				if len(p) != info.PageSize {
					t.Fatalf("page of %d bytes, page size %d", len(p), info.PageSize)
				}
			}
		}
	})
}

// FuzzLoad builds an image from a main file and a WAL (split by a 4-byte
// length prefix) and extracts it. Allocation must stay proportional to the
// input, whatever sizes the input claims.
func FuzzLoad(f *testing.F) {
	for _, s := range fuzzSeeds(f, false) {
		f.Add(withWAL(s[:min(len(s), 16*1024)], nil))
	}
	if db, err := os.ReadFile(filepath.Join(fixtureDir, "wal-torn", "board.db")); err == nil {
		w, _ := os.ReadFile(filepath.Join(fixtureDir, "wal-torn", "board.db-wal"))
		f.Add(withWAL(db, w))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 4 {
			return
		}
		n := min(int(binary.BigEndian.Uint32(data)), len(data)-4)
		main, wal := data[4:4+n], data[4+n:]
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		img, err := newImage(main, wal, len(wal) > 0)
		runtime.ReadMemStats(&after)
		if limit := 4*uint64(len(data)) + 256<<10; after.TotalAlloc-before.TotalAlloc > limit {
			t.Fatalf("newImage allocated %d bytes for %d input bytes", after.TotalAlloc-before.TotalAlloc, len(data))
		}
		if err != nil {
			return
		}
		if _, err := Extract(context.Background(), img); err != nil {
			t.Fatal(err)
		}
	})
}

func withWAL(db, wal []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(db)))
	return append(append(out, db...), wal...)
}
