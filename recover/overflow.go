package recover

// payload returns a cell's whole payload: its local bytes, then the bytes of
// its overflow chain. The chain is followed only through pages nobody has
// claimed yet (each page belongs to at most one chain, which also breaks
// loops), stops at a missing page or an early 0, and never reads more than
// the cell declared. complete is false when the chain fell short.
func (x *extractor) payload(c leafCell) (payload []byte, complete bool) {
	return x.chain(c, x.claimOverflow)
}

// reread is payload for a cell whose chain an earlier walk claimed: it
// follows pages already marked as overflow, claiming nothing.
func (x *extractor) reread(c leafCell) (payload []byte, complete bool) {
	return x.chain(c, func(n uint32) []byte {
		if n == 0 || n > x.img.NPages || x.use.get(n) != useOverflow {
			return nil
		}
		return x.img.Page(n)
	})
}

// chain assembles a payload through the overflow pages next returns; the
// loop ends when the declared size is reached, so a cycle cannot hold it.
func (x *extractor) chain(c leafCell, next func(uint32) []byte) (payload []byte, complete bool) {
	if c.overflow == 0 {
		return c.local, uint64(len(c.local)) == c.size
	}
	room := uint64(x.img.Usable() - 4)
	want := c.size - uint64(len(c.local))
	buf := make([]byte, len(c.local), len(c.local)+int(min(want, 16*room)))
	copy(buf, c.local)
	pg := c.overflow
	for want > 0 && pg != 0 {
		data := next(pg)
		if data == nil {
			break
		}
		take := min(want, room)
		buf = append(buf, data[4:4+take]...)
		want -= take
		pg = be32(data)
	}
	return buf, want == 0
}

// claimChain marks an overflow chain's pages without reading their content;
// used for index cells, whose data the salvager does not need.
func (x *extractor) claimChain(first uint32, want uint64) {
	room := uint64(x.img.Usable() - 4)
	for next := first; want > 0 && next != 0; {
		data := x.claimOverflow(next)
		if data == nil {
			return
		}
		want -= min(want, room)
		next = be32(data)
	}
}

// claimOverflow marks page n as overflow and returns it, or nil when it is
// out of range, missing, or already claimed by anything.
func (x *extractor) claimOverflow(n uint32) []byte {
	if n == 0 || n > x.img.NPages || x.use.get(n) != useUnknown {
		return nil
	}
	data := x.img.Page(n)
	if data == nil {
		return nil
	}
	x.use.set(n, useOverflow)
	return data
}
