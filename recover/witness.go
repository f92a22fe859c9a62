package recover

import "strings"

// witness is what one index b-tree says about its table's rows: the rowid
// of every entry and, for the table's primary-key index, the key values.
// Index data is rebuilt, never salvaged, but an index whose pages survived
// a table page still lists the rows that page held. One walked without a
// single unreadable page or cell lists every row its table had (complete).
//
// The walk only notes the index's pages; their entries are read (read)
// for damaged tables alone, so a healthy board pays nothing for them.
type witness struct {
	index, table string
	pk           bool // the table's primary-key index: entries carry the key
	complete     bool
	pages        []uint32  // the index's pages, as the walk claimed them
	bad          int       // cells that did not decode
	rowids       []int64   // one per entry, once read
	keys         [][]Value // per entry, the key columns (pk only)
}

// isPartialIndex reports whether an index covers only some rows (CREATE
// INDEX … WHERE …), which makes it no witness of the rows it leaves out.
func isPartialIndex(sql string) bool {
	return strings.Contains(strings.ToUpper(sql), " WHERE ")
}

// walkIndexes walks every index b-tree: its pages and overflow chains are
// claimed (index data is rebuilt, but its pages must not be taken for
// orphans), and its pages noted for the loss accounting.
func (x *extractor) walkIndexes() {
	for _, e := range x.ex.Schema {
		if e.Type != "index" || e.RootPage <= 1 {
			continue
		}
		w := &witness{index: e.Name, table: e.TblName}
		if t := x.ex.Table(e.TblName); t != nil && t.pkIndex != "" && strings.EqualFold(t.pkIndex, e.Name) {
			w.pk = true
		}
		st := x.walk(e.RootPage, false, func(p *btreePage) {
			w.pages = append(w.pages, p.pgno)
			x.indexOverflow(p)
		})
		w.complete = st.unreadable == 0 && st.reused == 0 && !isPartialIndex(e.SQL)
		x.witnesses = append(x.witnesses, w)
		for _, b := range st.bad {
			x.notData[b.page] = true
		}
	}
}

// indexOverflow claims the overflow chains of an index page's cells, so the
// orphan scan does not mistake them for lost data.
func (x *extractor) indexOverflow(p *btreePage) {
	if p.IsTable() {
		return
	}
	for i := 0; i < p.NCells; i++ {
		if c, err := p.indexCell(i); err == nil && c.overflow != 0 {
			x.claimChain(c.overflow, c.size-uint64(len(c.local)))
		}
	}
}

// read decodes the entries of the index's pages (interior pages hold
// entries too): each record is the indexed columns, then the rowid. A
// cell that does not decode makes the witness incomplete.
func (w *witness) read(x *extractor) {
	for _, pg := range w.pages {
		p, err := x.img.btree(pg)
		if err != nil {
			w.bad++
			continue
		}
		for i := 0; i < p.NCells; i++ {
			c, err := p.indexCell(i)
			if err != nil {
				w.bad++
				continue
			}
			payload, complete := x.reread(c)
			rec, err := decodeRecord(payload, complete)
			n := len(rec.Values)
			if err != nil || rec.Partial || n < 2 || rec.Values[n-1].Kind != Integer {
				w.bad++
				continue
			}
			w.rowids = append(w.rowids, rec.Values[n-1].Int)
			if w.pk {
				w.keys = append(w.keys, rec.Values[:n-1])
			}
		}
	}
	w.complete = w.complete && w.bad == 0
}
