package sqlitefile

import (
	"io"
	"os"
	"testing"
)

// BenchmarkScanWAL measures the open-time scan of a 4 MiB -wal (1000
// frames of 4 KiB pages, a commit every 4 frames) against reading the
// same bytes from the same file; docs/PERFORMANCE.md gives the per-MB
// cost and the ratio.
func BenchmarkScanWAL(b *testing.B) {
	w := buildWAL(4096, 1000, 4, false)
	path := writeTemp(b, w)
	b.Run("scan", func(b *testing.B) {
		b.SetBytes(int64(len(w)))
		for b.Loop() {
			info, _, err := ScanWAL(path, 4096)
			if err != nil || info.Applied != 1000 {
				b.Fatal(info, err)
			}
		}
	})
	b.Run("read", func(b *testing.B) {
		b.SetBytes(int64(len(w)))
		buf := make([]byte, 256<<10)
		for b.Loop() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, buf); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
}

// BenchmarkNotADatabase measures the verdict kanban asks for at open on
// a file that fails its header check, in the worst case: 64 MiB of
// random bytes, where no sampled page parses and every sample is read.
func BenchmarkNotADatabase(b *testing.B) {
	data := make([]byte, 64<<20)
	for i := range data {
		data[i] = byte(i*7919 + i>>9)
	}
	path := writeTemp(b, data)
	for b.Loop() {
		if !NotADatabase(path, path+"-wal") {
			b.Fatal("a database?")
		}
	}
}
