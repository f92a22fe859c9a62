package sqlitefile

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func TestParsePageHeader(t *testing.T) {
	leaf := make([]byte, 1024)
	leaf[0] = TypeTableLeaf
	leaf[4] = 1                // one cell
	leaf[5], leaf[6] = 3, 0xf0 // content from 1008
	leaf[8], leaf[9] = 3, 0xf0 // its pointer
	h, err := ParsePageHeader(2, leaf, 0)
	if err != nil || !h.IsLeaf() || !h.IsTable() || h.NCells != 1 || !h.Consistent(leaf) {
		t.Fatalf("leaf: %+v, %v", h, err)
	}
	for name, mutate := range map[string]func(b []byte){
		"type":           func(b []byte) { b[0] = 0x07 },
		"cells too many": func(b []byte) { b[3], b[4] = 0x7f, 0xff },
		"content start":  func(b []byte) { b[5], b[6] = 0, 4 },
		"freeblock":      func(b []byte) { b[1], b[2] = 0x03, 0xff },
	} {
		b := bytes.Clone(leaf)
		mutate(b)
		if _, err := ParsePageHeader(2, b, 0); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	b := bytes.Clone(leaf)
	b[8], b[9] = 0, 2 // the cell pointer points into the header
	if h, err := ParsePageHeader(2, b, 0); err != nil || h.Consistent(b) {
		t.Fatalf("bad cell pointer: consistent (%v)", err)
	}
}

func TestHasBTreePages(t *testing.T) {
	dir := t.TempDir()
	noise := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	db, err := os.ReadFile(filepath.Join(fixtureDir, "header-tls", "board.db"))
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		data []byte
		want bool
	}{
		"text":                    {[]byte("hello world, this is not a database\n"), false},
		"random bytes":            {noise, false},
		"zeros":                   {make([]byte, 64<<10), false},
		"board with a bad header": {db, true},
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		f, _ := os.Open(p)
		got := HasBTreePages(f, int64(len(c.data)))
		f.Close()
		if got != c.want {
			t.Errorf("%s: HasBTreePages = %v, want %v", name, got, c.want)
		}
		if ps := DetectPageSize(c.data, nil); (ps != 0) != c.want {
			t.Errorf("%s: DetectPageSize = %d", name, ps)
		}
	}
}
