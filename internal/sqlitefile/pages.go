package sqlitefile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// Pages reads a database's pages as SQLite sees them: the newest committed
// frame of a page in the -wal (through a WALIndex) if there is one, else
// the page in the main file. It is for quick, read-only looks at a live
// board (open-time checks); a caller that needs a stable view holds a
// SQLite read transaction around it.
type Pages struct {
	db, wal  *os.File
	idx      *WALIndex
	dbSize   int64
	PageSize int
	Usable   int // PageSize less the reserved bytes at the end of each page
	// WALMode says the header's read/write versions are 2: SQLite uses
	// the -wal (a -wal next to a rollback-mode file is ignored).
	WALMode bool
}

// ErrPastEnd means a page is neither in the main file nor in the -wal.
var ErrPastEnd = errors.New("page past the end of the database")

// OpenPages opens the database at db (and its -wal at wal, when idx is
// not nil) for reading pages. The page size and reserved bytes come from
// the database header, which must be valid.
func OpenPages(db, wal string, idx *WALIndex) (*Pages, error) {
	f, err := os.Open(db)
	if err != nil {
		return nil, err
	}
	p := &Pages{db: f}
	var hdr [100]byte
	fi, err := f.Stat()
	if err == nil {
		_, err = io.ReadFull(f, hdr[:])
	}
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("read database header: %w", err)
	}
	p.dbSize = fi.Size()
	p.PageSize = int(binary.BigEndian.Uint16(hdr[16:]))
	if p.PageSize == 1 {
		p.PageSize = 65536
	}
	p.Usable = p.PageSize - int(hdr[20])
	p.WALMode = hdr[18] == 2 && hdr[19] == 2
	if !ValidPageSize(p.PageSize) || p.Usable < MinUsable {
		p.Close()
		return nil, fmt.Errorf("database header: page size %d, usable %d: %w", p.PageSize, p.Usable, ErrNotBTreePage)
	}
	if idx != nil && idx.PageSize == p.PageSize {
		if p.wal, err = os.Open(wal); err != nil {
			p.Close()
			return nil, err
		}
		p.idx = idx
	}
	return p, nil
}

// Close closes the files.
func (p *Pages) Close() error {
	var err error
	for _, f := range []*os.File{p.db, p.wal} {
		if f != nil {
			err = errors.Join(err, f.Close())
		}
	}
	return err
}

// Page reads page pg into buf (PageSize bytes) and returns its usable
// part. Errors: ErrPastEnd, ErrWALChanged (scan the -wal again), I/O.
func (p *Pages) Page(pg uint32, buf []byte) ([]byte, error) {
	buf = buf[:p.PageSize]
	if p.idx != nil {
		ok, err := p.idx.ReadPage(p.wal, pg, buf)
		if err != nil {
			return nil, err
		}
		if ok {
			return buf[:p.Usable], nil
		}
	}
	off := int64(pg-1) * int64(p.PageSize)
	if pg == 0 || off+int64(p.PageSize) > p.dbSize {
		return nil, fmt.Errorf("page %d: %w", pg, ErrPastEnd)
	}
	if _, err := p.db.ReadAt(buf, off); err != nil {
		return nil, fmt.Errorf("read page %d: %w", pg, err)
	}
	return buf[:p.Usable], nil
}

// Root is the root page of one b-tree, as sqlite_schema lists it.
type Root struct {
	Name  string
	Page  uint32
	Index bool // an index, or a WITHOUT ROWID table: an index b-tree
}

// CheckRoot reads a b-tree's root page and checks that it is a consistent
// b-tree page of the right kind (table or index). A nil error means it
// looks right; errors wrap ErrNotBTreePage or ErrPastEnd for damage, and
// ErrWALChanged when the -wal moved on under the caller.
func (p *Pages) CheckRoot(r Root, buf []byte) error {
	data, err := p.Page(r.Page, buf)
	if err != nil {
		return err
	}
	hdr := 0
	if r.Page == 1 {
		hdr = 100
	}
	h, err := ParsePageHeader(r.Page, data, hdr)
	if err != nil {
		return err
	}
	if !h.Consistent(data) {
		return fmt.Errorf("page %d: cell pointers or freeblocks out of place: %w", r.Page, ErrNotBTreePage)
	}
	if h.IsTable() == r.Index {
		want := "a table"
		if r.Index {
			want = "an index"
		}
		return fmt.Errorf("page %d: type 0x%02x is not %s page: %w", r.Page, h.Type, want, ErrNotBTreePage)
	}
	return nil
}
