package recover

import (
	"encoding/binary"

	"github.com/kanbanshim/kanbanshim/internal/sqlitefile"
)

// shmHeaderMinSize is the part of the -shm's wal-index header read here.
const shmHeaderMinSize = 48

// WALInfo summarises a -wal file (see sqlitefile.WALInfo, the one WAL
// frame parser kanban, kanban-migrate and kanban-recover share).
type WALInfo = sqlitefile.WALInfo

// readWAL validates data as a WAL for pages of pageSize (0: take the WAL's
// own) and returns the summary and the page images to apply, newest frame
// per page. The returned slices alias data.
func readWAL(data []byte, pageSize int) (WALInfo, map[uint32][]byte) {
	return sqlitefile.ParseWAL(data, pageSize)
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
