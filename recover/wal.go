package recover

import "encoding/binary"

// WAL constants (wal.html, fileformat2 §4).
const (
	walMagicLE       = 0x377f0682 // checksum words are little-endian
	walMagicBE       = 0x377f0683 // checksum words are big-endian
	walVersion       = 3007000
	walHeaderSize    = 32
	walFrameHdrSize  = 24
	shmHeaderMinSize = 48
)

// WALInfo summarises a -wal file: whether its header is valid and how far
// the chain of valid frames goes. Only frames up to and including the last
// valid commit frame are applied; the first invalid frame ends the chain,
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
	uncommittedEnd bool
}

// walChecksum continues SQLite's WAL checksum (s0, s1) over b, reading
// 32-bit words in the byte order the magic selected. len(b) is a multiple
// of 8 for every input SQLite checksums.
func walChecksum(s0, s1 uint32, b []byte, bigEndian bool) (uint32, uint32) {
	var order binary.ByteOrder = binary.LittleEndian
	if bigEndian {
		order = binary.BigEndian
	}
	for i := 0; i+8 <= len(b); i += 8 {
		s0 += order.Uint32(b[i:]) + s1
		s1 += order.Uint32(b[i+4:]) + s0
	}
	return s0, s1
}

// readWAL validates data as a WAL for pages of pageSize (0: take the WAL's
// own) and returns the summary and the page images to apply, newest frame
// per page. The returned slices alias data.
func readWAL(data []byte, pageSize int) (WALInfo, map[uint32][]byte) {
	info := WALInfo{Present: true, Size: int64(len(data))}
	if !info.parseHeader(data, pageSize) {
		return info, nil
	}
	ps := info.PageSize
	frameSize := walFrameHdrSize + ps
	body := data[walHeaderSize:]
	info.Frames = len(body) / frameSize
	info.TornTail = len(body)%frameSize != 0
	s0, s1 := be32(data[24:]), be32(data[28:])
	lastCommit := 0
	for i := 0; i < info.Frames; i++ {
		f := body[i*frameSize : (i+1)*frameSize]
		var ok bool
		if ok, s0, s1 = info.frameValid(f, s0, s1); !ok {
			info.FirstBadFrame = i + 1
			info.BadFrameSalted = be32(f[8:]) == info.Salt1 && be32(f[12:]) == info.Salt2
			info.LostCommits = info.countLostCommits(body, i, frameSize)
			break
		}
		info.ValidFrames++
		if db := be32(f[4:]); db != 0 {
			info.Commits++
			lastCommit = i + 1
			info.DBSize = db
		}
	}
	info.Applied = lastCommit
	info.Ignored = info.Frames - lastCommit
	info.uncommittedEnd = info.ValidFrames > lastCommit
	pages := make(map[uint32][]byte, min(lastCommit, 1<<16))
	for i := 0; i < lastCommit; i++ {
		f := body[i*frameSize : (i+1)*frameSize]
		pg := be32(f)
		pages[pg] = f[walFrameHdrSize:]
		info.MaxPage = max(info.MaxPage, pg)
	}
	return info, pages
}

// parseHeader checks magic, version, page size and header checksum.
func (info *WALInfo) parseHeader(data []byte, pageSize int) bool {
	if len(data) < walHeaderSize {
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
	if !validPageSize(ps) {
		info.HeaderProblem = "invalid page size"
		return false
	}
	if pageSize != 0 && ps != pageSize {
		info.HeaderProblem = "page size differs from the database"
		return false
	}
	s0, s1 := walChecksum(0, 0, data[:24], info.BigEndianSum)
	if s0 != be32(data[24:]) || s1 != be32(data[28:]) {
		info.HeaderProblem = "header checksum mismatch"
		return false
	}
	info.HeaderValid, info.PageSize = true, ps
	info.CheckpointSeq, info.Salt1, info.Salt2 = be32(data[12:]), be32(data[16:]), be32(data[20:])
	return true
}

// frameValid checks one frame against the header salts and the running
// checksum, returning the checksum to continue from.
func (info *WALInfo) frameValid(f []byte, s0, s1 uint32) (bool, uint32, uint32) {
	if be32(f) == 0 || be32(f[8:]) != info.Salt1 || be32(f[12:]) != info.Salt2 {
		return false, s0, s1
	}
	s0, s1 = walChecksum(s0, s1, f[:8], info.BigEndianSum)
	s0, s1 = walChecksum(s0, s1, f[walFrameHdrSize:], info.BigEndianSum)
	return s0 == be32(f[16:]) && s1 == be32(f[20:]), s0, s1
}

// countLostCommits measures what a broken frame cost: restarting the chain
// from the checksum stored in the bad frame (which was computed over its
// original bytes), it counts later commit frames that are intact. SQLite
// ignores them; a report should say they existed.
func (info *WALInfo) countLostCommits(body []byte, bad, frameSize int) int {
	f := body[bad*frameSize:]
	if be32(f[8:]) != info.Salt1 || be32(f[12:]) != info.Salt2 {
		return 0
	}
	s0, s1 := be32(f[16:]), be32(f[20:])
	lost := 0
	if be32(f[4:]) != 0 {
		lost++
	}
	for i := bad + 1; i < info.Frames; i++ {
		g := body[i*frameSize : (i+1)*frameSize]
		var ok bool
		if ok, s0, s1 = info.frameValid(g, s0, s1); !ok {
			break
		}
		if be32(g[4:]) != 0 {
			lost++
		}
	}
	return lost
}

// ShmInfo says whether a -shm file agrees with the WAL. The salvager never
// uses it for correctness; a stale one is only worth reporting.
type ShmInfo struct {
	Present bool   `json:"present"`
	MxFrame uint32 `json:"mx_frame"`
	Stale   bool   `json:"stale"`
	Reason  string `json:"reason,omitempty"`
}

// inspectShm compares the wal-index header (native byte order; this code
// assumes little-endian hosts, like every platform we ship) with the WAL.
func inspectShm(shm []byte, present bool, wal WALInfo) ShmInfo {
	s := ShmInfo{Present: present}
	if !present {
		return s
	}
	if len(shm) < shmHeaderMinSize {
		s.Stale, s.Reason = true, "shorter than the wal-index header"
		return s
	}
	s.MxFrame = binary.LittleEndian.Uint32(shm[16:])
	switch {
	case !wal.HeaderValid:
		s.Stale = s.MxFrame != 0
		if s.Stale {
			s.Reason = "wal-index counts frames but the WAL is missing or invalid"
		}
	case int(s.MxFrame) != wal.Applied:
		s.Stale, s.Reason = true, "mxFrame differs from the last valid commit frame"
	case s.MxFrame != 0 && (binary.BigEndian.Uint32(shm[32:]) != wal.Salt1 || binary.BigEndian.Uint32(shm[36:]) != wal.Salt2):
		s.Stale, s.Reason = true, "salts differ from the WAL header"
	}
	return s
}
