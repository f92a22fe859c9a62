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
	}
	stack := []item{{root, 0}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if x.use.get(it.pg) == useTree || x.use.get(it.pg) == useOverflow || x.use.get(it.pg) == useSchema {
			st.reused++
			continue
		}
		p, err := x.img.btree(it.pg)
		if err != nil || p.isTable() != table || it.depth > maxTreeDepth {
			st.unreadable++
			continue
		}
		x.use.set(it.pg, useTree)
		x.prog.tick()
		st.pages++
		visit(p)
		if p.isLeaf() {
			continue
		}
		for i := p.ncells; i >= 0; i-- {
			child, ok := p.childAt(i)
			if !ok || child == 0 || child > x.img.NPages || len(stack) > int(x.img.NPages) {
				st.unreadable++ // a real tree never has more pending pages than pages
				continue
			}
			stack = append(stack, item{child, it.depth + 1})
		}
	}
	return st
}

// tableCells decodes every cell of a table leaf into rows. Cells that do not
// decode are counted in bad; their neighbours are still read.
func (x *extractor) tableCells(p *btreePage) (rows []Row, bad int) {
	for i := 0; i < p.ncells; i++ {
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

// indexOverflow claims the overflow chains of an index page's cells, so the
// orphan scan does not mistake them for lost data.
func (x *extractor) indexOverflow(p *btreePage) {
	if p.isTable() {
		return
	}
	for i := 0; i < p.ncells; i++ {
		if c, err := p.indexCell(i); err == nil && c.overflow != 0 {
			x.claimChain(c.overflow, c.size-uint64(len(c.local)))
		}
	}
}
