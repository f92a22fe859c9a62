package recover

import "fmt"

// leafCell is one cell of a table leaf or any index page: its rowid (table
// leaves), the declared payload size, the bytes stored on the page and the
// first overflow page (0 when the payload fits).
type leafCell struct {
	rowid    int64
	size     uint64
	local    []byte
	overflow uint32
}

// localSize returns how many payload bytes of a P-byte payload are stored on
// the page itself (fileformat2 §"Cell Payload Overflow Pages").
func localSize(p uint64, usable int, table bool) int {
	u := uint64(usable)
	x := u - 35
	if !table {
		x = (u-12)*64/255 - 23
	}
	if p <= x {
		return int(p)
	}
	m := (u-12)*32/255 - 23
	k := m + (p-m)%(u-4)
	if k <= x {
		return int(k)
	}
	return int(m)
}

// tableLeafCell decodes cell i of a table leaf: varint payload size, varint
// rowid, local payload, then the overflow page number if it spills.
func (p *btreePage) tableLeafCell(i int) (leafCell, error) {
	off, ok := p.cellOffset(i)
	if !ok {
		return leafCell{}, fmt.Errorf("page %d cell %d: bad pointer", p.pgno, i)
	}
	b := p.data[off:]
	size, n := readVarint(b)
	if n == 0 {
		return leafCell{}, fmt.Errorf("page %d cell %d: cut payload size", p.pgno, i)
	}
	rowid, m := readVarint(b[n:])
	if m == 0 {
		return leafCell{}, fmt.Errorf("page %d cell %d: cut rowid", p.pgno, i)
	}
	c, err := p.payloadAt(i, b[n+m:], size, true)
	c.rowid = int64(rowid)
	return c, err
}

// indexCell decodes cell i of an index page; only its overflow chain matters
// to the salvager (so those pages are not mistaken for orphans).
func (p *btreePage) indexCell(i int) (leafCell, error) {
	off, ok := p.cellOffset(i)
	if !ok {
		return leafCell{}, fmt.Errorf("page %d cell %d: bad pointer", p.pgno, i)
	}
	b := p.data[off:]
	if p.Type == typeIndexInterior {
		if len(b) < 4 {
			return leafCell{}, fmt.Errorf("page %d cell %d: cut child", p.pgno, i)
		}
		b = b[4:]
	}
	size, n := readVarint(b)
	if n == 0 {
		return leafCell{}, fmt.Errorf("page %d cell %d: cut payload size", p.pgno, i)
	}
	return p.payloadAt(i, b[n:], size, false)
}

// payloadAt splits the rest of a cell into local bytes and overflow page.
func (p *btreePage) payloadAt(i int, b []byte, size uint64, table bool) (leafCell, error) {
	local := localSize(size, len(p.data), table)
	c := leafCell{size: size}
	if uint64(local) >= size {
		if len(b) < local {
			return c, fmt.Errorf("page %d cell %d: payload runs past page", p.pgno, i)
		}
		c.local = b[:local]
		return c, nil
	}
	if len(b) < local+4 {
		return c, fmt.Errorf("page %d cell %d: payload runs past page", p.pgno, i)
	}
	c.local = b[:local]
	c.overflow = be32(b[local:])
	return c, nil
}

// childAt returns the left child of interior cell i, or the right-most
// child for i == ncells.
func (p *btreePage) childAt(i int) (uint32, bool) {
	if i == p.NCells {
		return p.Right, true
	}
	off, ok := p.cellOffset(i)
	if !ok || off+4 > len(p.data) {
		return 0, false
	}
	return be32(p.data[off:]), true
}
