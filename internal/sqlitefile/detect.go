package sqlitefile

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
)

// PageAccept is an extra test a caller may put on a candidate page while
// page sizes are scored (nil: Consistent alone).
type PageAccept func(pgno uint32, data []byte, h PageHeader) bool

// DetectSample is the most pages read per candidate page size, by every
// look for b-tree pages in a file whose header cannot be trusted: the
// verdict "not a database" (NotADatabase, HasBTreePages) that kanban,
// kanban-migrate and kanban-recover all give, and kanban-recover's page
// size detection (DetectPageSize, ScorePageSize). One sample, so the
// tools never disagree about a file: a page size under which no sampled
// page parses is one under which the file is not a database. It is small
// because kanban asks at open, on every command, for a file that fails
// its header check: at most 256 pages per size (8 sizes) are read.
const DetectSample = 256

// DetectPageSize tries every page size and keeps the one under which the
// most sampled pages parse as consistent b-tree pages with at least one
// cell (a wrong size leaves page starts inside real pages, or cell
// pointers past the end). 0 means no sampled page parsed under any size
// (with accept nil: exactly when HasBTreePages is false).
func DetectPageSize(b []byte, accept PageAccept) int {
	best, bestScore := 0, 0
	for ps := 512; ps <= 65536; ps *= 2 {
		if s := ScorePageSize(b, ps, accept); s > bestScore {
			best, bestScore = ps, s
		}
	}
	return best
}

// ScorePageSize counts the sampled pages of b that parse as consistent,
// non-empty b-tree pages of size ps.
func ScorePageSize(b []byte, ps int, accept PageAccept) int {
	return scorePages(bytes.NewReader(b), int64(len(b)), int64(ps), accept, false)
}

// HasBTreePages reports whether any page sampled from r, size bytes,
// parses as a consistent b-tree page under any page size: whether a
// file whose header is unreadable may still hold a board worth salvaging.
// A text file, random bytes or a truncated stub do not.
func HasBTreePages(r io.ReaderAt, size int64) bool {
	for ps := int64(512); ps <= 65536; ps *= 2 {
		if scorePages(r, size, ps, nil, true) > 0 {
			return true
		}
	}
	return false
}

// scorePages counts the pages of size ps sampled from r (DetectSample,
// evenly spread from the first) that parse as consistent, non-empty
// b-tree pages passing accept; first stops at the first one.
func scorePages(r io.ReaderAt, size, ps int64, accept PageAccept, first bool) int {
	n := size / ps
	if n == 0 {
		return 0 // no whole page: nothing to read, nothing to allocate
	}
	step := max(1, n/DetectSample)
	buf := make([]byte, ps)
	score := 0
	for i := int64(0); i < n; i += step {
		if _, err := r.ReadAt(buf, i*ps); err != nil {
			break
		}
		if pageLooksValid(uint32(i+1), buf, accept) {
			score++
			if first {
				break
			}
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

// HeaderSane reports whether the fields of a database header (the first
// 100 bytes, b) that a page reader depends on are intact: the magic
// string, a valid page size, the fixed payload fractions (64/32/32) and
// at least MinUsable bytes per page after the reserved ones. A file with
// such a header is a database even when no page parses (a new database
// without tables has none with a cell).
func HeaderSane(b []byte) bool {
	if len(b) < 100 || string(b[:16]) != HeaderMagic {
		return false
	}
	ps := int(binary.BigEndian.Uint16(b[16:]))
	if ps == 1 {
		ps = 65536
	}
	return ValidPageSize(ps) && b[21] == 64 && b[22] == 32 && b[23] == 32 && ps-int(b[20]) >= MinUsable
}

// NotADatabase reports whether the file at db holds nothing SQLite could
// read or a salvage could recover: it is not empty, its header is not
// sane (HeaderSane), no sampled page of it parses as a b-tree page
// (HasBTreePages) and no valid -wal header at wal gives another way in.
// A text file, random bytes or a truncated stub are not databases; a
// board with only its header damaged is. This is the one verdict every
// tool gives (kanban at open, kanban-migrate, kanban-recover's check and
// salvage), so the command one names is the command the other expects.
func NotADatabase(db, wal string) bool {
	f, err := os.Open(db)
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return false
	}
	head := make([]byte, 100)
	n, _ := io.ReadFull(f, head)
	if HeaderSane(head[:n]) || HasBTreePages(f, fi.Size()) {
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
