package sqlitefile

import (
	"io"
	"os"
)

// PageAccept is an extra test a caller may put on a candidate page while
// page sizes are scored (nil: Consistent alone).
type PageAccept func(pgno uint32, data []byte, h PageHeader) bool

// DetectPageSize tries every page size and keeps the one under which the
// most pages parse as consistent b-tree pages with at least one cell (a
// wrong size leaves page starts inside real pages, or cell pointers past
// the end). At most DetectSample pages are tested per size. 0 means no
// page parsed under any size: the bytes are not a SQLite database.
func DetectPageSize(b []byte, accept PageAccept) int {
	best, bestScore := 0, 0
	for ps := 512; ps <= 65536; ps *= 2 {
		if s := ScorePageSize(b, ps, accept); s > bestScore {
			best, bestScore = ps, s
		}
	}
	return best
}

// DetectSample is the most pages DetectPageSize tests per page size.
const DetectSample = 4096

// ScorePageSize counts the sampled pages of b that parse as consistent,
// non-empty b-tree pages of size ps.
func ScorePageSize(b []byte, ps int, accept PageAccept) int {
	n := len(b) / ps
	if n == 0 {
		return 0
	}
	step := max(1, n/DetectSample)
	score := 0
	for i := 0; i < n; i += step {
		if pageLooksValid(uint32(i+1), b[i*ps:(i+1)*ps], accept) {
			score++
		}
	}
	return score
}

func pageLooksValid(pgno uint32, data []byte, accept PageAccept) bool {
	hdr := 0
	if pgno == 1 {
		hdr = 100
	}
	h, err := ParsePageHeader(pgno, data, hdr)
	if err != nil || h.NCells == 0 || !h.Consistent(data) {
		return false
	}
	return accept == nil || accept(pgno, data, h)
}

// quickSample is the most pages HasBTreePages reads per page size.
const quickSample = 256

// HasBTreePages reports whether any of (at most 256 per page size) pages
// sampled from r, size bytes, parses as a consistent b-tree page: whether
// a file whose header is unreadable may still hold a board worth
// salvaging. A text file, random bytes or a truncated stub do not.
func HasBTreePages(r io.ReaderAt, size int64) bool {
	buf := make([]byte, 65536)
	for ps := int64(512); ps <= 65536; ps *= 2 {
		n := size / ps
		step := max(1, n/quickSample)
		for i := int64(0); i < n; i += step {
			if _, err := r.ReadAt(buf[:ps], i*ps); err != nil {
				break
			}
			if pageLooksValid(uint32(i+1), buf[:ps], nil) {
				return true
			}
		}
	}
	return false
}

// NotADatabase reports whether the file at db holds nothing SQLite could
// read or a salvage could recover: no page of it parses as a b-tree page
// (HasBTreePages) and no valid -wal header at wal gives another way in.
// A text file, random bytes or a truncated stub are not databases; a
// board with only its header damaged is.
func NotADatabase(db, wal string) bool {
	f, err := os.Open(db)
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 || HasBTreePages(f, fi.Size()) {
		return false
	}
	if w, err := os.Open(wal); err == nil {
		head := make([]byte, WALHeaderSize)
		n, _ := io.ReadFull(w, head)
		w.Close()
		if ParseWALHeader(head[:n]).HeaderValid {
			return false
		}
	}
	return true
}
