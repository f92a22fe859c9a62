package recover

import (
	"encoding/binary"

	"github.com/kanbanshim/kanbanshim/internal/sqlitefile"
)

// Header is the 100-byte database header at the start of page 1, decoded
// without judging it: a salvager has to look at a damaged header too.
type Header struct {
	Magic           bool   `json:"magic_ok"`
	PageSize        int    `json:"page_size"` // 0 when the field is not a valid size
	WriteVersion    uint8  `json:"write_version"`
	ReadVersion     uint8  `json:"read_version"`
	Reserved        int    `json:"reserved"`
	FractionsOK     bool   `json:"fractions_ok"` // bytes 21–23 are 64, 32, 32
	ChangeCounter   uint32 `json:"change_counter"`
	PageCount       uint32 `json:"page_count"`
	FreelistTrunk   uint32 `json:"freelist_trunk"`
	FreelistCount   uint32 `json:"freelist_count"`
	SchemaFormat    uint32 `json:"schema_format"`
	AutoVacuumTop   uint32 `json:"autovacuum_top"`
	Encoding        uint32 `json:"encoding"`
	VersionValidFor uint32 `json:"version_valid_for"`
	SQLiteVersion   uint32 `json:"sqlite_version"`

	sane bool // sqlitefile.HeaderSane, see Sane
}

// ParseHeader decodes b (at least 100 bytes; shorter input gives a zero
// Header with Magic false).
func ParseHeader(b []byte) Header {
	if len(b) < 100 {
		return Header{}
	}
	u32 := func(off int) uint32 { return binary.BigEndian.Uint32(b[off:]) }
	return Header{
		Magic:           string(b[:16]) == sqlitefile.HeaderMagic,
		PageSize:        decodePageSize(be16(b[16:])),
		WriteVersion:    b[18],
		ReadVersion:     b[19],
		Reserved:        int(b[20]),
		FractionsOK:     b[21] == 64 && b[22] == 32 && b[23] == 32,
		ChangeCounter:   u32(24),
		PageCount:       u32(28),
		FreelistTrunk:   u32(32),
		FreelistCount:   u32(36),
		SchemaFormat:    u32(44),
		AutoVacuumTop:   u32(52),
		Encoding:        u32(56),
		VersionValidFor: u32(92),
		SQLiteVersion:   u32(96),
		sane:            sqlitefile.HeaderSane(b),
	}
}

// decodePageSize maps the header's u16 to a size: 1 means 65536; anything
// that is not a power of two in 512..32768 is invalid (0).
func decodePageSize(v int) int {
	if v == 1 {
		return 65536
	}
	if validPageSize(v) {
		return v
	}
	return 0
}

func validPageSize(v int) bool { return sqlitefile.ValidPageSize(v) }

// Sane reports whether the fields a page reader depends on are intact
// (sqlitefile.HeaderSane, the rule kanban's "not a database" verdict uses
// too). It is deliberately strict: a header that fails it is not trusted
// for the page size or reserved bytes, and those are detected instead.
func (h Header) Sane() bool { return h.sane }

// PageCountValid reports whether the in-header page count can be believed:
// non-zero and written by the same version that wrote the change counter.
func (h Header) PageCountValid() bool {
	return h.PageCount != 0 && h.VersionValidFor == h.ChangeCounter
}

// tlsRecordOffset looks for the start of a TLS record (content type 20–23,
// version 3.0–3.4) in bytes 5..28 of a header, the shape upstream #29507
// left when a recycled socket descriptor wrote into kanban.db. It returns
// the offset, or -1.
func tlsRecordOffset(b []byte) int {
	for i := 5; i+2 < len(b) && i <= 28; i++ {
		if b[i] >= 0x14 && b[i] <= 0x17 && b[i+1] == 0x03 && b[i+2] <= 0x04 {
			return i
		}
	}
	return -1
}
