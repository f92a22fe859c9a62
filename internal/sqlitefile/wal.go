package sqlitefile

import "encoding/binary"

// WAL format constants (SQLite's wal.html and fileformat2 §4).
const (
	walMagicLE = 0x377f0682 // checksum words are little-endian
	walMagicBE = 0x377f0683 // checksum words are big-endian
	walVersion = 3007000

	// WALHeaderSize is the size of the -wal's file header.
	WALHeaderSize = 32
	// FrameHeaderSize is the size of each frame's header; the page follows.
	FrameHeaderSize = 24
)

// WALInfo summarises a -wal file: whether its header is valid and how far
// the chain of valid frames goes. Only frames up to and including the
// last valid commit frame count; the first invalid frame ends the chain,
// whatever follows (SQLite's own rule).
type WALInfo struct {
	Present        bool   `json:"present"`
	Size           int64  `json:"size"`
	HeaderValid    bool   `json:"header_valid"`
	HeaderProblem  string `json:"header_problem,omitempty"`
	PageSize       int    `json:"page_size,omitempty"`
	BigEndianSum   bool   `json:"big_endian_checksum,omitempty"`
	CheckpointSeq  uint32 `json:"checkpoint_seq,omitempty"`
	Salt1          uint32 `json:"salt1,omitempty"`
	Salt2          uint32 `json:"salt2,omitempty"`
	Frames         int    `json:"frames"`                  // complete frames in the file
	ValidFrames    int    `json:"valid_frames"`            // length of the valid chain
	Commits        int    `json:"commits"`                 // commit frames in the valid chain
	Applied        int    `json:"frames_applied"`          // frames up to the last valid commit
	Ignored        int    `json:"frames_ignored"`          // every other frame
	FirstBadFrame  int    `json:"first_bad_frame"`         // 1-based; 0 when the chain reaches the end
	TornTail       bool   `json:"torn_tail"`               // the file ends inside a frame
	LostCommits    int    `json:"lost_commits"`            // intact commits after a broken frame
	BadFrameSalted bool   `json:"bad_frame_current_salts"` // the broken frame belongs to this WAL generation
	DBSize         uint32 `json:"db_size_pages,omitempty"`
	MaxPage        uint32 `json:"max_page,omitempty"`
}

// UncommittedTail is the number of valid frames after the last commit
// (a transaction that never committed; SQLite ignores them).
func (w WALInfo) UncommittedTail() int { return w.ValidFrames - w.Applied }

// Broken reports damage SQLite would hide: a frame of the current WAL
// generation fails its checksum and intact commits follow it. SQLite reads
// only the frames before the break and drops the rest at the next
// checkpoint, so those commits would be lost without a word.
func (w WALInfo) Broken() bool { return w.HeaderValid && w.LostCommits > 0 }

// Checksum continues SQLite's WAL checksum (s0, s1) over b, reading 32-bit
// words in the byte order the magic selected. len(b) is a multiple of 8
// for every input SQLite checksums; a shorter tail is ignored.
func Checksum(s0, s1 uint32, b []byte, bigEndian bool) (uint32, uint32) {
	n := len(b) &^ 7
	if bigEndian {
		for i := 0; i < n; i += 8 {
			s0 += binary.BigEndian.Uint32(b[i:]) + s1
			s1 += binary.BigEndian.Uint32(b[i+4:]) + s0
		}
		return s0, s1
	}
	for i := 0; i < n; i += 8 {
		s0 += binary.LittleEndian.Uint32(b[i:]) + s1
		s1 += binary.LittleEndian.Uint32(b[i+4:]) + s0
	}
	return s0, s1
}

// ParseWAL validates data as a WAL for pages of pageSize (0: take the
// WAL's own) and returns the summary and the page images of the committed
// frames, newest frame per page. The returned slices alias data.
func ParseWAL(data []byte, pageSize int) (WALInfo, map[uint32][]byte) {
	var c chain
	if !c.start(data, int64(len(data)), pageSize) {
		return c.info, nil
	}
	frameSize := int64(FrameHeaderSize + c.info.PageSize)
	body := data[WALHeaderSize:]
	for i := range c.info.Frames {
		if !c.frame(body[int64(i)*frameSize : int64(i+1)*frameSize]) {
			break
		}
	}
	c.finish()
	pages := make(map[uint32][]byte, len(c.index))
	for pg, n := range c.index {
		off := int64(n-1) * frameSize
		pages[pg] = body[off+FrameHeaderSize : off+frameSize]
	}
	return c.info, pages
}

// chain walks a WAL frame by frame: it validates the chain, counts the
// commits, remembers the newest committed frame of each page and, after a
// broken frame of the current generation, counts the intact commits that
// SQLite will ignore.
type chain struct {
	info   WALInfo
	s0, s1 uint32
	n      int // frames seen
	state  int // chainValid, chainLost or chainDone
	// index maps a page to the 1-based number of its newest frame up to
	// the last valid commit; pending holds the frames since that commit.
	index   map[uint32]int
	pending []pageFrame
}

type pageFrame struct {
	page  uint32
	frame int
}

const (
	chainValid = iota // still on the valid chain
	chainLost         // past a broken frame: counting intact commits
	chainDone         // the chain ended
)

// start parses the header (data holds at least its first 32 bytes) of a
// WAL of size bytes.
func (c *chain) start(head []byte, size int64, pageSize int) bool {
	c.info = WALInfo{Present: true, Size: size}
	if !c.info.parseHeader(head, pageSize) {
		return false
	}
	frameSize := int64(FrameHeaderSize + c.info.PageSize)
	c.info.Frames = int((size - WALHeaderSize) / frameSize)
	c.info.TornTail = (size-WALHeaderSize)%frameSize != 0
	c.s0, c.s1 = be32(head[24:]), be32(head[28:])
	c.index = map[uint32]int{}
	return true
}

// frame takes the next frame (header and page); it returns false once the
// rest of the WAL cannot change the result.
func (c *chain) frame(f []byte) bool {
	c.n++
	switch c.state {
	case chainValid:
		ok, s0, s1 := c.info.frameValid(f, c.s0, c.s1)
		if ok {
			c.s0, c.s1 = s0, s1
			c.info.ValidFrames++
			c.pending = append(c.pending, pageFrame{be32(f), c.n})
			if db := be32(f[4:]); db != 0 {
				c.commit(db)
			}
			return true
		}
		c.info.FirstBadFrame = c.n
		c.info.BadFrameSalted = c.info.salted(f)
		if !c.info.BadFrameSalted {
			c.state = chainDone
			return false
		}
		// Restart from the checksum the bad frame stores, which was
		// computed over its original bytes: what follows it intact is
		// committed work that SQLite ignores.
		c.state, c.s0, c.s1 = chainLost, be32(f[16:]), be32(f[20:])
		if be32(f[4:]) != 0 {
			c.info.LostCommits++
		}
		return true
	case chainLost:
		ok, s0, s1 := c.info.frameValid(f, c.s0, c.s1)
		if !ok {
			c.state = chainDone
			return false
		}
		c.s0, c.s1 = s0, s1
		if be32(f[4:]) != 0 {
			c.info.LostCommits++
		}
		return true
	}
	return false
}

// commit moves the frames since the last commit into the index.
func (c *chain) commit(dbSize uint32) {
	c.info.Commits++
	c.info.Applied = c.n
	c.info.DBSize = dbSize
	for _, p := range c.pending {
		c.index[p.page] = p.frame
		c.info.MaxPage = max(c.info.MaxPage, p.page)
	}
	c.pending = c.pending[:0]
}

// finish settles the counts once every frame was seen.
func (c *chain) finish() {
	c.info.Ignored = c.info.Frames - c.info.Applied
	c.pending = nil
}

// parseHeader checks magic, version, page size and header checksum.
func (info *WALInfo) parseHeader(data []byte, pageSize int) bool {
	if len(data) < WALHeaderSize {
		info.HeaderProblem = "shorter than the 32-byte header"
		return false
	}
	switch be32(data) {
	case walMagicLE:
	case walMagicBE:
		info.BigEndianSum = true
	default:
		info.HeaderProblem = "bad magic"
		return false
	}
	if be32(data[4:]) != walVersion {
		info.HeaderProblem = "unknown format version"
		return false
	}
	ps := int(be32(data[8:]))
	if !ValidPageSize(ps) {
		info.HeaderProblem = "invalid page size"
		return false
	}
	if pageSize != 0 && ps != pageSize {
		info.HeaderProblem = "page size differs from the database"
		return false
	}
	s0, s1 := Checksum(0, 0, data[:24], info.BigEndianSum)
	if s0 != be32(data[24:]) || s1 != be32(data[28:]) {
		info.HeaderProblem = "header checksum mismatch"
		return false
	}
	info.HeaderValid, info.PageSize = true, ps
	info.CheckpointSeq, info.Salt1, info.Salt2 = be32(data[12:]), be32(data[16:]), be32(data[20:])
	return true
}

// ParseWALHeader checks a -wal's 32-byte header alone (for the page size
// it names); the returned info has no frame counts.
func ParseWALHeader(data []byte) WALInfo {
	info := WALInfo{Present: true, Size: int64(len(data))}
	info.parseHeader(data, 0)
	return info
}

// salted reports whether frame f carries this WAL generation's salts.
func (info *WALInfo) salted(f []byte) bool {
	return be32(f[8:]) == info.Salt1 && be32(f[12:]) == info.Salt2
}

// frameValid checks one frame against the header salts and the running
// checksum, returning the checksum to continue from.
func (info *WALInfo) frameValid(f []byte, s0, s1 uint32) (bool, uint32, uint32) {
	if be32(f) == 0 || !info.salted(f) {
		return false, s0, s1
	}
	s0, s1 = Checksum(s0, s1, f[:8], info.BigEndianSum)
	s0, s1 = Checksum(s0, s1, f[FrameHeaderSize:], info.BigEndianSum)
	return s0 == be32(f[16:]) && s1 == be32(f[20:]), s0, s1
}

// ValidPageSize reports whether v is a page size SQLite can use.
func ValidPageSize(v int) bool { return v >= 512 && v <= 65536 && v&(v-1) == 0 }

func be16(b []byte) int    { return int(binary.BigEndian.Uint16(b)) }
func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }
