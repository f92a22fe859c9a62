package recover

// pageUse records what a page was found to be. The orphan scan looks only
// at pages still marked unknown.
type pageUse uint8

const (
	useUnknown  pageUse = iota
	useTree             // claimed by a table or index b-tree walk
	useOverflow         // part of a reachable cell's overflow chain
	useFreelist         // freelist trunk or leaf: never scanned
	useReserved         // pointer-map or lock-byte page
	useSchema           // schema leaf found by the orphan schema scan
	useOrphan           // scanned as an orphan
)

// pageMap holds one pageUse per page, indexed by page number.
type pageMap []pageUse

func (m pageMap) get(n uint32) pageUse {
	if int64(n) >= int64(len(m)) {
		return useReserved
	}
	return m[n]
}

func (m pageMap) set(n uint32, u pageUse) {
	if n > 0 && int64(n) < int64(len(m)) {
		m[n] = u
	}
}

// markFreelist walks the freelist from the trunk named in page 1's header
// and marks trunks and their leaves, so deleted content on them is never
// salvaged. It runs after the tree walks: a page a live tree reaches stays
// the tree's. A damaged list ends the walk; it never fails the salvage. It
// returns the number of pages marked.
func (img *Image) markFreelist(m pageMap) int {
	trunk := img.Effective.FreelistTrunk
	if trunk == 0 {
		trunk = img.Header.FreelistTrunk
	}
	marked := 0
	maxLeaves := uint32(img.Usable()/4 - 2)
	for seen := uint32(0); trunk != 0 && seen <= img.NPages; seen++ {
		data := img.Page(trunk)
		if data == nil || m.get(trunk) != useUnknown {
			break
		}
		m.set(trunk, useFreelist)
		marked++
		n := be32(data[4:])
		if n > maxLeaves {
			break
		}
		for i := uint32(0); i < n; i++ {
			leaf := be32(data[8+4*i:])
			if leaf >= 1 && leaf <= img.NPages && m.get(leaf) == useUnknown {
				m.set(leaf, useFreelist)
				marked++
			}
		}
		trunk = be32(data)
	}
	return marked
}

// markReserved marks the pointer-map pages (auto-vacuum boards only) and the
// lock-byte page, which never hold cells.
func (img *Image) markReserved(m pageMap) {
	if lock := uint32(0x40000000/img.PageSize) + 1; lock <= img.NPages && m.get(lock) == useUnknown {
		m.set(lock, useReserved)
	}
	if img.Effective.AutoVacuumTop == 0 && img.Header.AutoVacuumTop == 0 {
		return
	}
	stride := uint32(img.Usable()/5 + 1)
	for p := uint32(2); p <= img.NPages; p += stride {
		if m.get(p) == useUnknown {
			m.set(p, useReserved)
		}
	}
}
