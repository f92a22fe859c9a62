package sqlitefile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// WALIndex says where the newest committed frame of each page is in a
// -wal, as a scan found it. A page read through it checks the frame's page
// number and salts again, so a -wal restarted since the scan is noticed
// (ErrWALChanged) instead of read as the wrong page.
type WALIndex struct {
	PageSize     int
	salt1, salt2 uint32
	frames       map[uint32]int // page -> 1-based frame number
}

// ErrWALChanged means the -wal no longer holds the frame a WALIndex
// names: a writer restarted it after the scan. Scan again.
var ErrWALChanged = errors.New("the -wal changed since it was scanned")

// Frame returns the frame number holding page pg, if the scan saw one.
func (x *WALIndex) Frame(pg uint32) (int, bool) {
	if x == nil {
		return 0, false
	}
	n, ok := x.frames[pg]
	return n, ok
}

// Pages is the number of distinct pages the committed frames hold.
func (x *WALIndex) Pages() int {
	if x == nil {
		return 0
	}
	return len(x.frames)
}

// ReadPage reads page pg from the -wal open in f into buf (PageSize
// bytes). ok is false when the scan saw no committed frame of pg.
func (x *WALIndex) ReadPage(f io.ReaderAt, pg uint32, buf []byte) (ok bool, err error) {
	n, ok := x.Frame(pg)
	if !ok {
		return false, nil
	}
	off := WALHeaderSize + int64(n-1)*int64(FrameHeaderSize+x.PageSize)
	var hdr [FrameHeaderSize]byte
	if _, err := f.ReadAt(hdr[:], off); err != nil {
		return false, fmt.Errorf("read -wal frame %d: %w", n, err)
	}
	if be32(hdr[:]) != pg || be32(hdr[8:]) != x.salt1 || be32(hdr[12:]) != x.salt2 {
		return false, ErrWALChanged
	}
	if _, err := f.ReadAt(buf[:x.PageSize], off+FrameHeaderSize); err != nil {
		return false, fmt.Errorf("read -wal frame %d: %w", n, err)
	}
	return true, nil
}

// ScanWAL reads the -wal at path frame by frame (without holding it in
// memory) and returns its summary and an index of its committed frames.
// pageSize is the database's (0: take the WAL's own). A missing -wal is
// not an error: the info says Present false.
func ScanWAL(path string, pageSize int) (WALInfo, *WALIndex, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return WALInfo{}, nil, nil
	}
	if err != nil {
		return WALInfo{}, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return WALInfo{}, nil, err
	}
	if !fi.Mode().IsRegular() {
		return WALInfo{}, nil, fmt.Errorf("%s is not a regular file", path)
	}
	return ScanWALReader(f, fi.Size(), pageSize)
}

// ScanWALReader is ScanWAL over r, which holds size bytes.
func ScanWALReader(r io.Reader, size int64, pageSize int) (WALInfo, *WALIndex, error) {
	if size == 0 {
		return WALInfo{Present: true}, nil, nil
	}
	br := bufio.NewReaderSize(r, 256<<10)
	head := make([]byte, WALHeaderSize)
	n, err := io.ReadFull(br, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return WALInfo{}, nil, err
	}
	var c chain
	if !c.start(head[:n], size, pageSize) {
		return c.info, nil, nil
	}
	frame := make([]byte, FrameHeaderSize+c.info.PageSize)
	for range c.info.Frames {
		if _, err := io.ReadFull(br, frame); err != nil {
			// The file shrank under us (a restart truncated it): what was
			// read stands, the rest counts as absent.
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				c.info.Frames = c.n
				break
			}
			return WALInfo{}, nil, err
		}
		if !c.frame(frame) {
			break
		}
	}
	c.finish()
	return c.info, &WALIndex{PageSize: c.info.PageSize, salt1: c.info.Salt1, salt2: c.info.Salt2, frames: c.index}, nil
}
