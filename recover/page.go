package recover

import "github.com/kanbanshim/kanbanshim/internal/sqlitefile"

// B-tree page types (the first byte of a page header).
const (
	typeIndexInterior = sqlitefile.TypeIndexInterior
	typeTableInterior = sqlitefile.TypeTableInterior
	typeIndexLeaf     = sqlitefile.TypeIndexLeaf
	typeTableLeaf     = sqlitefile.TypeTableLeaf
)

// minUsable is the smallest usable page size SQLite allows (512 bytes less
// at most 32 reserved); the payload formulas underflow below it.
const minUsable = sqlitefile.MinUsable

// errBadPage is wrapped by every reason a page does not parse as a b-tree
// page; the walkers count such pages as unreadable and move on.
var errBadPage = sqlitefile.ErrNotBTreePage

// btreePage is a parsed b-tree page header over the page's usable bytes.
// Cells are decoded lazily so a damaged cell costs only itself.
type btreePage struct {
	sqlitefile.PageHeader
	pgno uint32
	data []byte // the usable part of the page (reserved bytes trimmed)
}

// parsePage checks the header of a b-tree page (sqlitefile.ParsePageHeader):
// a known type, a cell count whose pointer array fits, and a cell content
// start inside the page. It does not look at the cells themselves (see
// cellOffset).
func parsePage(pgno uint32, data []byte, hdr int) (*btreePage, error) {
	h, err := sqlitefile.ParsePageHeader(pgno, data, hdr)
	if err != nil {
		return nil, err
	}
	return &btreePage{PageHeader: h, pgno: pgno, data: data}, nil
}

// cellOffset returns where cell i starts, checking that it lies in the cell
// content area (never in the header, the pointer array or past the page).
func (p *btreePage) cellOffset(i int) (int, bool) { return p.CellOffset(p.data, i) }

// looksValid is a stricter test used to score candidate page sizes: the
// header is consistent (sqlitefile.PageHeader.Consistent) and the first
// cell of a table leaf decodes. A page of the wrong size fails it almost
// always.
func (p *btreePage) looksValid() bool {
	if !p.Consistent(p.data) {
		return false
	}
	if p.Type == typeTableLeaf && p.NCells > 0 {
		_, err := p.tableLeafCell(0)
		return err == nil
	}
	return true
}
