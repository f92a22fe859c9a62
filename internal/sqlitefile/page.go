package sqlitefile

import (
	"errors"
	"fmt"
)

// HeaderMagic is the first 16 bytes of every SQLite database file.
const HeaderMagic = "SQLite format 3\x00"

// B-tree page types (the first byte of a page header).
const (
	TypeIndexInterior = 0x02
	TypeTableInterior = 0x05
	TypeIndexLeaf     = 0x0a
	TypeTableLeaf     = 0x0d
)

// MinUsable is the smallest usable page size SQLite allows (512 bytes
// less at most 32 reserved); the payload formulas underflow below it.
const MinUsable = 480

// ErrNotBTreePage is wrapped by every reason a page does not parse as a
// b-tree page.
var ErrNotBTreePage = errors.New("not a b-tree page")

// PageHeader is the parsed header of a b-tree page.
type PageHeader struct {
	Offset    int // of the header in the page: 100 on page 1, else 0
	Type      byte
	Freeblock int    // first freeblock, 0 for none
	NCells    int    // number of cells
	CellStart int    // start of the cell content area (0 in the file means 65536)
	Right     uint32 // right-most child; interior pages only
}

// IsLeaf reports a leaf page (table or index).
func (h PageHeader) IsLeaf() bool { return h.Type == TypeTableLeaf || h.Type == TypeIndexLeaf }

// IsTable reports a table b-tree page (leaf or interior).
func (h PageHeader) IsTable() bool { return h.Type == TypeTableLeaf || h.Type == TypeTableInterior }

// Size is 8 on leaves and 12 on interior pages.
func (h PageHeader) Size() int {
	if h.IsLeaf() {
		return 8
	}
	return 12
}

// PointersEnd is the offset just past the cell pointer array.
func (h PageHeader) PointersEnd() int { return h.Offset + h.Size() + 2*h.NCells }

// ParsePageHeader checks the header of b-tree page pgno (data is its
// usable part; hdr the header's offset): a known type, a cell count whose
// pointer array fits, a cell content start and first freeblock inside
// the page. It does not look at the cells. Errors wrap ErrNotBTreePage.
func ParsePageHeader(pgno uint32, data []byte, hdr int) (PageHeader, error) {
	if len(data) < MinUsable || len(data) < hdr+12 {
		return PageHeader{}, fmt.Errorf("page %d: too short: %w", pgno, ErrNotBTreePage)
	}
	h := PageHeader{Offset: hdr, Type: data[hdr]}
	switch h.Type {
	case TypeIndexInterior, TypeTableInterior, TypeIndexLeaf, TypeTableLeaf:
	default:
		return PageHeader{}, fmt.Errorf("page %d: type 0x%02x: %w", pgno, h.Type, ErrNotBTreePage)
	}
	b := data[hdr:]
	h.Freeblock = be16(b[1:])
	h.NCells = be16(b[3:])
	h.CellStart = be16(b[5:])
	if h.CellStart == 0 {
		h.CellStart = 65536
	}
	if !h.IsLeaf() {
		h.Right = be32(b[8:])
	}
	end := h.PointersEnd()
	if end > len(data) {
		return PageHeader{}, fmt.Errorf("page %d: %d cells do not fit: %w", pgno, h.NCells, ErrNotBTreePage)
	}
	if h.NCells > 0 && (h.CellStart < end || h.CellStart > len(data)) {
		return PageHeader{}, fmt.Errorf("page %d: cell content start %d: %w", pgno, h.CellStart, ErrNotBTreePage)
	}
	if h.Freeblock != 0 && (h.Freeblock < end || h.Freeblock > len(data)-4) {
		return PageHeader{}, fmt.Errorf("page %d: first freeblock %d: %w", pgno, h.Freeblock, ErrNotBTreePage)
	}
	return h, nil
}

// CellOffset returns where cell i starts, checking that it lies in the
// cell content area (never in the header, the pointer array or past the
// page).
func (h PageHeader) CellOffset(data []byte, i int) (int, bool) {
	if i < 0 || i >= h.NCells {
		return 0, false
	}
	off := be16(data[h.Offset+h.Size()+2*i:])
	if off < h.CellStart || off >= len(data) {
		return 0, false
	}
	return off, true
}

// Consistent is a stricter test than ParsePageHeader: every cell pointer
// is in range and the freeblock chain is ordered and inside the page. A
// page read at the wrong page size, or random bytes, fail it almost
// always.
func (h PageHeader) Consistent(data []byte) bool {
	for i := range h.NCells {
		if _, ok := h.CellOffset(data, i); !ok {
			return false
		}
	}
	fb := h.Freeblock
	for n := 0; fb != 0; n++ {
		if n > len(data)/4 || fb+4 > len(data) {
			return false
		}
		next, size := be16(data[fb:]), be16(data[fb+2:])
		if size < 4 || fb+size > len(data) || (next != 0 && next <= fb+size-1) {
			return false
		}
		fb = next
	}
	return true
}
