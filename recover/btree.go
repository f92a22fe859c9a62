package recover

// maxTreeDepth bounds a walk. Real b-trees are a few levels deep (a 20-level
// tree of 512-byte pages would hold more rows than SQLite can address), so a
// deeper path can only be a cycle or garbage pointers.
const maxTreeDepth = 40

// walkStats counts what one b-tree walk met.
type walkStats struct {
	pages      int // pages claimed by the tree
	unreadable int // referenced pages that are missing or not of the tree's kind
	reused     int // references to pages already claimed (cycles, cross-links)
	badCells   int // cells that could not be decoded
	// bad lists the unreadable references, each with the rowids its
	// subtree may have held (table trees), for the loss accounting.
	bad []badRef
}

// badRef is a page a walk could not read: its number (0 when the pointer
// itself was unreadable) and the rowid span the pointing interior page
// gave its subtree.
type badRef struct {
	page uint32
	span rowSpan
}

// rowSpan is a rowid range (lo, hi] of a table subtree, from the keys of
// the interior pages above it; an end not known is open.
type rowSpan struct {
	lo, hi           int64
	loKnown, hiKnown bool
}

// walk visits the b-tree rooted at root depth-first, left to right, so the
// leaves of a table tree come in rowid order. Each page is claimed once in
// x.use; a page that is missing, of the wrong kind, out of range or already
// claimed is counted and skipped, never followed. visit is called for every
// claimed page (interior and leaf).
func (x *extractor) walk(root uint32, table bool, visit func(p *btreePage)) walkStats {
	var st walkStats
	type item struct {
		pg    uint32
		depth int
		span  rowSpan
	}
	stack := []item{{pg: root}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if x.use.get(it.pg) == useTree || x.use.get(it.pg) == useOverflow || x.use.get(it.pg) == useSchema {
			st.reused++
			continue
		}
		p, err := x.img.btree(it.pg)
		if err != nil || p.IsTable() != table || it.depth > maxTreeDepth {
			st.unreadable++
			st.bad = append(st.bad, badRef{it.pg, it.span})
			continue
		}
		x.use.set(it.pg, useTree)
		x.prog.tick()
		st.pages++
		visit(p)
		if p.IsLeaf() {
			continue
		}
		for i := p.NCells; i >= 0; i-- {
			child, ok := p.childAt(i)
			span := p.childSpan(i, it.span)
			if !ok || child == 0 || child > x.img.NPages || len(stack) > int(x.img.NPages) {
				st.unreadable++ // a real tree never has more pending pages than pages
				if !ok || len(stack) > int(x.img.NPages) {
					child = 0
				}
				st.bad = append(st.bad, badRef{child, span})
				continue
			}
			stack = append(stack, item{child, it.depth + 1, span})
		}
	}
	return st
}

// childSpan narrows a table interior page's span to child i's: rowids
// above the key of cell i-1 and up to the key of cell i. A key that does
// not read leaves that end as wide as the parent's.
func (p *btreePage) childSpan(i int, parent rowSpan) rowSpan {
	s := parent
	if p.Type != typeTableInterior {
		return s
	}
	if k, ok := p.tableKey(i - 1); ok {
		s.lo, s.loKnown = k, true
	}
	if k, ok := p.tableKey(i); ok {
		s.hi, s.hiKnown = k, true
	}
	return s
}

// tableKey returns the integer key of a table interior page's cell i:
// the largest rowid of its left child's subtree.
func (p *btreePage) tableKey(i int) (int64, bool) {
	off, ok := p.cellOffset(i)
	if !ok || off+4 >= len(p.data) {
		return 0, false
	}
	k, n := readVarint(p.data[off+4:])
	return int64(k), n > 0
}

// tableCells decodes every cell of a table leaf into rows. Cells that do not
// decode are counted in bad; their neighbours are still read.
func (x *extractor) tableCells(p *btreePage) (rows []Row, bad int) {
	for i := 0; i < p.NCells; i++ {
		c, err := p.tableLeafCell(i)
		if err != nil {
			bad++
			continue
		}
		payload, complete := x.payload(c)
		rec, err := decodeRecord(payload, complete)
		if err != nil {
			bad++
			continue
		}
		rows = append(rows, Row{
			Rowid: c.rowid, Values: rec.Values, Partial: rec.Partial,
			Page: p.pgno, Cell: i, FromWAL: x.img.FromWAL(p.pgno),
		})
	}
	return rows, bad
}
