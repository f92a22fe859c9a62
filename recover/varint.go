package recover

import "encoding/binary"

// readVarint decodes one SQLite varint (1–9 bytes, big-endian, 7 bits per
// byte, all 8 bits in the ninth). It returns the value and its length, or
// n == 0 when b ends before the varint does, so a cut-off cell is never read
// past its end.
func readVarint(b []byte) (v uint64, n int) {
	for i := 0; i < 8; i++ {
		if i >= len(b) {
			return 0, 0
		}
		c := b[i]
		v = v<<7 | uint64(c&0x7f)
		if c < 0x80 {
			return v, i + 1
		}
	}
	if len(b) < 9 {
		return 0, 0
	}
	return v<<8 | uint64(b[8]), 9
}

// be16 and be32 read big-endian integers; callers check the length first.
func be16(b []byte) int { return int(binary.BigEndian.Uint16(b)) }

func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }
