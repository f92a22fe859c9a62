package recover

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/kanbanshim/kanbanshim/internal/sqlitefile"
)

// TestImage_walOnly: read from a -wal without its database, the image is
// as large as the last commit says (the pages no frame holds were the
// lost file's, counted as loss), but a forged commit size cannot make it
// larger than walOnlyReach pages per page the -wal holds.
func TestImage_walOnly(t *testing.T) {
	wal, err := os.ReadFile(filepath.Join(fixtureDir, "clean-wal", "board.db-wal"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := newImage(nil, wal, true)
	if err != nil {
		t.Fatal(err)
	}
	if img.WAL.DBSize == 0 || img.NPages != img.WAL.DBSize || img.PagesFromWAL() >= int(img.NPages) {
		t.Errorf("real -wal alone: %d pages, last commit %d, %d from the -wal", img.NPages, img.WAL.DBSize, img.PagesFromWAL())
	}
	forged, err := newImage(nil, oneFrameWAL(512, 7, 1<<30), true)
	if err != nil {
		t.Fatal(err)
	}
	if forged.WAL.Applied != 1 || forged.NPages != walOnlyReach {
		t.Errorf("forged commit size: %d pages (%d frames applied), want %d", forged.NPages, forged.WAL.Applied, walOnlyReach)
	}
}

// oneFrameWAL is a valid -wal of one committing frame holding page pgno
// (a leaf table page with no cells) that claims a database of dbSize
// pages.
func oneFrameWAL(ps int, pgno, dbSize uint32) []byte {
	out := make([]byte, sqlitefile.WALHeaderSize+sqlitefile.FrameHeaderSize+ps)
	binary.BigEndian.PutUint32(out[0:], 0x377f0682)
	binary.BigEndian.PutUint32(out[4:], 3007000)
	binary.BigEndian.PutUint32(out[8:], uint32(ps))
	binary.BigEndian.PutUint32(out[16:], 0x11223344)
	binary.BigEndian.PutUint32(out[20:], 0x55667788)
	s0, s1 := sqlitefile.Checksum(0, 0, out[:24], false)
	binary.BigEndian.PutUint32(out[24:], s0)
	binary.BigEndian.PutUint32(out[28:], s1)
	fr := out[sqlitefile.WALHeaderSize:]
	binary.BigEndian.PutUint32(fr[0:], pgno)
	binary.BigEndian.PutUint32(fr[4:], dbSize)
	copy(fr[8:16], out[16:24])
	page := fr[sqlitefile.FrameHeaderSize:]
	page[0] = 0x0d // leaf table b-tree page
	binary.BigEndian.PutUint16(page[5:], uint16(ps))
	s0, s1 = sqlitefile.Checksum(s0, s1, fr[:8], false)
	s0, s1 = sqlitefile.Checksum(s0, s1, page, false)
	binary.BigEndian.PutUint32(fr[16:], s0)
	binary.BigEndian.PutUint32(fr[20:], s1)
	return out
}
