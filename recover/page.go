package recover

import (
	"errors"
	"fmt"
)

// B-tree page types (the first byte of a page header).
const (
	typeIndexInterior = 0x02
	typeTableInterior = 0x05
	typeIndexLeaf     = 0x0a
	typeTableLeaf     = 0x0d
)

// minUsable is the smallest usable page size SQLite allows (512 bytes less
// at most 32 reserved); the payload formulas underflow below it.
const minUsable = 480

// errBadPage is wrapped by every reason a page does not parse as a b-tree
// page; the walkers count such pages as unreadable and move on.
var errBadPage = errors.New("not a b-tree page")

// btreePage is a parsed b-tree page header over the page's usable bytes.
// Cells are decoded lazily so a damaged cell costs only itself.
type btreePage struct {
	pgno      uint32
	data      []byte // the usable part of the page (reserved bytes trimmed)
	hdr       int    // offset of the page header: 100 on page 1, else 0
	typ       byte
	ncells    int
	cellStart int
	right     uint32 // right-most child; interior pages only
}

// isLeaf and isTable classify the page type.
func (p *btreePage) isLeaf() bool  { return p.typ == typeTableLeaf || p.typ == typeIndexLeaf }
func (p *btreePage) isTable() bool { return p.typ == typeTableLeaf || p.typ == typeTableInterior }

// hdrSize is 8 on leaves and 12 on interior pages.
func (p *btreePage) hdrSize() int {
	if p.isLeaf() {
		return 8
	}
	return 12
}

// parsePage checks the header of a b-tree page: a known type, a cell count
// whose pointer array fits, and a cell content start inside the page. It
// does not look at the cells themselves (see cellOffset).
func parsePage(pgno uint32, data []byte, hdr int) (*btreePage, error) {
	if len(data) < minUsable || len(data) < hdr+12 {
		return nil, fmt.Errorf("page %d: too short: %w", pgno, errBadPage)
	}
	p := &btreePage{pgno: pgno, data: data, hdr: hdr, typ: data[hdr]}
	switch p.typ {
	case typeIndexInterior, typeTableInterior, typeIndexLeaf, typeTableLeaf:
	default:
		return nil, fmt.Errorf("page %d: type 0x%02x: %w", pgno, p.typ, errBadPage)
	}
	h := data[hdr:]
	p.ncells = be16(h[3:])
	p.cellStart = be16(h[5:])
	if p.cellStart == 0 {
		p.cellStart = 65536
	}
	if !p.isLeaf() {
		p.right = be32(h[8:])
	}
	ptrEnd := hdr + p.hdrSize() + 2*p.ncells
	if ptrEnd > len(data) {
		return nil, fmt.Errorf("page %d: %d cells do not fit: %w", pgno, p.ncells, errBadPage)
	}
	if p.ncells > 0 && (p.cellStart < ptrEnd || p.cellStart > len(data)) {
		return nil, fmt.Errorf("page %d: cell content start %d: %w", pgno, p.cellStart, errBadPage)
	}
	if fb := be16(h[1:]); fb != 0 && (fb < ptrEnd || fb > len(data)-4) {
		return nil, fmt.Errorf("page %d: first freeblock %d: %w", pgno, fb, errBadPage)
	}
	return p, nil
}

// cellOffset returns where cell i starts, checking that it lies in the cell
// content area (never in the header, the pointer array or past the page).
func (p *btreePage) cellOffset(i int) (int, bool) {
	if i < 0 || i >= p.ncells {
		return 0, false
	}
	off := be16(p.data[p.hdr+p.hdrSize()+2*i:])
	if off < p.cellStart || off >= len(p.data) {
		return 0, false
	}
	return off, true
}

// looksValid is a stricter test used to score candidate page sizes: every
// cell pointer must be in range and the freeblock chain must be ordered and
// inside the page. A page of the wrong size fails it almost always.
func (p *btreePage) looksValid() bool {
	for i := 0; i < p.ncells; i++ {
		if _, ok := p.cellOffset(i); !ok {
			return false
		}
	}
	fb := be16(p.data[p.hdr+1:])
	for n := 0; fb != 0; n++ {
		if n > len(p.data)/4 || fb+4 > len(p.data) {
			return false
		}
		next, size := be16(p.data[fb:]), be16(p.data[fb+2:])
		if size < 4 || fb+size > len(p.data) || (next != 0 && next <= fb+size-1) {
			return false
		}
		fb = next
	}
	if p.typ == typeTableLeaf && p.ncells > 0 {
		_, err := p.tableLeafCell(0)
		return err == nil
	}
	return true
}
