package recover

// payload returns a cell's whole payload: its local bytes, then the bytes of
// its overflow chain. The chain is followed only through pages nobody has
// claimed yet (each page belongs to at most one chain, which also breaks
// loops), stops at a missing page or an early 0, and never reads more than
// the cell declared. complete is false when the chain fell short.
func (x *extractor) payload(c leafCell) (payload []byte, complete bool) {
	if c.overflow == 0 {
		return c.local, uint64(len(c.local)) == c.size
	}
	room := uint64(x.img.Usable() - 4)
	want := c.size - uint64(len(c.local))
	buf := make([]byte, len(c.local), len(c.local)+int(min(want, 16*room)))
	copy(buf, c.local)
	next := c.overflow
	for want > 0 && next != 0 {
		data := x.claimOverflow(next)
		if data == nil {
			break
		}
		take := min(want, room)
		buf = append(buf, data[4:4+take]...)
		want -= take
		next = be32(data)
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
