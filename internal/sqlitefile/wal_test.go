package sqlitefile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

var fixtureDir = filepath.Join("..", "..", "fixtures", "testdata")

// buildWAL writes a valid WAL of frames pages of pageSize, one commit
// every perTxn frames (the last frame always commits), with the checksum
// words in the given byte order.
func buildWAL(pageSize, frames, perTxn int, bigEndian bool) []byte {
	magic := uint32(walMagicLE)
	if bigEndian {
		magic = walMagicBE
	}
	out := make([]byte, WALHeaderSize, WALHeaderSize+frames*(FrameHeaderSize+pageSize))
	binary.BigEndian.PutUint32(out[0:], magic)
	binary.BigEndian.PutUint32(out[4:], walVersion)
	binary.BigEndian.PutUint32(out[8:], uint32(pageSize))
	binary.BigEndian.PutUint32(out[12:], 7)          // checkpoint sequence
	binary.BigEndian.PutUint32(out[16:], 0x11223344) // salts
	binary.BigEndian.PutUint32(out[20:], 0x55667788)
	s0, s1 := Checksum(0, 0, out[:24], bigEndian)
	binary.BigEndian.PutUint32(out[24:], s0)
	binary.BigEndian.PutUint32(out[28:], s1)
	rng := rand.New(rand.NewPCG(1, 2))
	page := make([]byte, pageSize)
	for i := range frames {
		hdr := make([]byte, FrameHeaderSize)
		pg := uint32(i%50 + 2)
		binary.BigEndian.PutUint32(hdr[0:], pg)
		if (i+1)%perTxn == 0 || i == frames-1 {
			binary.BigEndian.PutUint32(hdr[4:], 60) // commit: db size in pages
		}
		copy(hdr[8:16], out[16:24])
		for j := range page {
			page[j] = byte(rng.Uint32())
		}
		page[0] = byte(i) // so each frame can be told apart
		s0, s1 = Checksum(s0, s1, hdr[:8], bigEndian)
		s0, s1 = Checksum(s0, s1, page, bigEndian)
		binary.BigEndian.PutUint32(hdr[16:], s0)
		binary.BigEndian.PutUint32(hdr[20:], s1)
		out = append(out, hdr...)
		out = append(out, page...)
	}
	return out
}

func writeTemp(t testing.TB, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "board.db-wal")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// frameOffset is where 1-based frame n starts.
func frameOffset(n, pageSize int) int { return WALHeaderSize + (n-1)*(FrameHeaderSize+pageSize) }

func TestParseWAL_chain(t *testing.T) {
	const ps = 1024
	for _, be := range []bool{false, true} {
		w := buildWAL(ps, 30, 3, be)
		info, pages := ParseWAL(w, ps)
		if !info.HeaderValid || info.Frames != 30 || info.ValidFrames != 30 || info.Commits != 10 ||
			info.Applied != 30 || info.Broken() || info.BigEndianSum != be {
			t.Fatalf("clean WAL (big endian %v): %+v", be, info)
		}
		if len(pages) != 30 || pages[2][0] != 0 {
			t.Fatalf("clean WAL: %d pages, page 2 from frame %d", len(pages), pages[2][0])
		}

		bad := bytes.Clone(w)
		bad[frameOffset(10, ps)+FrameHeaderSize+100] ^= 0x40 // a data byte of frame 10
		info, pages = ParseWAL(bad, ps)
		// Frames 1–9 are valid; the last commit before the break is frame 9.
		// Frames 10–30 hold 7 commits (12, 15, …, 30) SQLite would drop.
		if !info.Broken() || info.FirstBadFrame != 10 || info.LostCommits != 7 || info.Applied != 9 ||
			info.ValidFrames != 9 || !info.BadFrameSalted || len(pages) != 9 {
			t.Fatalf("bad frame 10: %+v, %d pages", info, len(pages))
		}

		stale := bytes.Clone(w)
		stale[frameOffset(10, ps)+8] ^= 1 // an older generation's salt
		if info, _ := ParseWAL(stale, ps); info.Broken() || info.FirstBadFrame != 10 || info.Applied != 9 {
			t.Fatalf("stale frame 10: %+v", info)
		}

		torn := w[:len(w)-100]
		if info, _ := ParseWAL(torn, ps); info.Broken() || !info.TornTail || info.Applied != 27 || info.Frames != 29 {
			t.Fatalf("torn tail: %+v", info)
		}
	}
}

func TestScanWAL_matchesParse(t *testing.T) {
	const ps = 1024
	w := buildWAL(ps, 40, 4, false)
	bad := bytes.Clone(w)
	bad[frameOffset(17, ps)+FrameHeaderSize+5] ^= 1
	cases := map[string][]byte{"clean": w, "broken": bad, "torn": w[:len(w)-7], "short": w[:20], "empty": nil}
	dirs, _ := filepath.Glob(filepath.Join(fixtureDir, "*"))
	for _, d := range dirs {
		if data, err := os.ReadFile(filepath.Join(d, "board.db-wal")); err == nil {
			cases["fixture "+filepath.Base(d)] = data
		}
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			want, pages := ParseWAL(data, 0)
			if len(data) == 0 {
				want = WALInfo{Present: true}
			}
			path := writeTemp(t, data)
			got, idx, err := ScanWAL(path, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("ScanWAL = %+v\nParseWAL = %+v", got, want)
			}
			if idx.Pages() != len(pages) {
				t.Fatalf("index has %d pages, ParseWAL %d", idx.Pages(), len(pages))
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			buf := make([]byte, max(got.PageSize, 1))
			for pg, img := range pages {
				ok, err := idx.ReadPage(f, pg, buf)
				if err != nil || !ok || !bytes.Equal(buf, img) {
					t.Fatalf("page %d through the index: ok %v, %v, same %v", pg, ok, err, bytes.Equal(buf, img))
				}
			}
		})
	}
}

func TestScanWAL_missing(t *testing.T) {
	info, idx, err := ScanWAL(filepath.Join(t.TempDir(), "nope-wal"), 0)
	if err != nil || info.Present || idx != nil {
		t.Fatalf("missing -wal: %+v %v %v", info, idx, err)
	}
}

func TestWALIndex_restarted(t *testing.T) {
	const ps = 1024
	w := buildWAL(ps, 10, 2, false)
	path := writeTemp(t, w)
	_, idx, err := ScanWAL(path, ps)
	if err != nil {
		t.Fatal(err)
	}
	// A writer restarts the -wal: new salts in every frame header.
	restarted := bytes.Clone(w)
	binary.BigEndian.PutUint32(restarted[frameOffset(1, ps)+8:], 0xdeadbeef)
	if err := os.WriteFile(path, restarted, 0o644); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(path)
	defer f.Close()
	pg := binary.BigEndian.Uint32(w[frameOffset(1, ps):])
	if ok, err := idx.ReadPage(f, pg, make([]byte, ps)); !errors.Is(err, ErrWALChanged) || ok {
		t.Fatalf("read after a restart: ok %v, err %v; want ErrWALChanged", ok, err)
	}
	if ok, err := idx.ReadPage(f, 9999, make([]byte, ps)); ok || err != nil {
		t.Fatalf("a page the WAL lacks: ok %v, err %v", ok, err)
	}
}
