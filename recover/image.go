package recover

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/sqlitefile"
)

// Page-size sources reported in Image.PageSizeSource.
const (
	SizeFromHeader   = "header"
	SizeFromWAL      = "wal"
	SizeFromDetected = "detected"
)

// Image is a database as the salvager sees it: the main file's pages with
// the committed WAL frames laid over them. It never changes the files it was
// loaded from.
type Image struct {
	Path           string   `json:"path"`
	FileSize       int64    `json:"file_size"`
	PageSize       int      `json:"page_size"`
	PageSizeSource string   `json:"page_size_source"`
	Reserved       int      `json:"reserved"`
	NPages         uint32   `json:"pages"`
	FilePages      uint32   `json:"file_pages"`
	Encoding       uint32   `json:"encoding"`
	Header         Header   `json:"header"` // of the main file, as found
	Effective      Header   `json:"-"`      // of page 1 after the WAL
	WAL            WALInfo  `json:"wal"`    // summary of the -wal file
	Shm            ShmInfo  `json:"shm"`    // -shm staleness
	Notes          []string `json:"notes,omitempty"`

	main     []byte
	walPages map[uint32][]byte
}

// ErrNotDatabase means no page size could be found: the file holds no page
// that parses as a b-tree page.
var ErrNotDatabase = errors.New("no b-tree pages found: not an SQLite database")

// Load reads dbPath and its -wal and -shm (all optional but the first) and
// builds the page image. Call it on a scratch copy: it only reads, but the
// original may change underneath.
func Load(ctx context.Context, dbPath string) (*Image, error) {
	main, err := os.ReadFile(dbPath)
	if err != nil {
		return nil, fmt.Errorf("read database: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	wal, walErr := os.ReadFile(board.WAL(dbPath))
	if walErr != nil && !errors.Is(walErr, fs.ErrNotExist) {
		return nil, fmt.Errorf("read wal: %w", walErr)
	}
	shm, shmErr := os.ReadFile(board.SHM(dbPath))
	if shmErr != nil && !errors.Is(shmErr, fs.ErrNotExist) {
		return nil, fmt.Errorf("read shm: %w", shmErr)
	}
	img, err := newImage(main, wal, walErr == nil)
	if err != nil {
		return nil, err
	}
	img.Path = dbPath
	img.Shm = inspectShm(shm, shmErr == nil, img.WAL)
	return img, nil
}

// newImage builds an Image from file contents; Load and the fuzz tests use
// it. A header page size is trusted unless no page parses under it (a
// header overwritten with another valid-looking size).
func newImage(main, wal []byte, walPresent bool) (*Image, error) {
	img := &Image{FileSize: int64(len(main)), Header: ParseHeader(main)}
	walHdr := WALInfo{}
	if walPresent {
		walHdr = sqlitefile.ParseWALHeader(wal)
	}
	switch {
	case img.Header.Sane() && (len(main) < 2*img.Header.PageSize || scorePageSize(main, img.Header.PageSize) > 0):
		img.PageSize, img.PageSizeSource = img.Header.PageSize, SizeFromHeader
	case walHdr.HeaderValid:
		img.PageSize, img.PageSizeSource = walHdr.PageSize, SizeFromWAL
	default:
		// The page size whose pages also decode wins; failing that, any
		// under which pages parse at all (sqlitefile's sample and test,
		// so this says "not a database" exactly when kanban does:
		// sqlitefile.NotADatabase), and a sane header's own.
		ps := detectPageSize(main)
		if ps == 0 {
			ps = sqlitefile.DetectPageSize(main, nil)
		}
		switch {
		case ps != 0:
			img.PageSize, img.PageSizeSource = ps, SizeFromDetected
		case img.Header.Sane():
			img.PageSize, img.PageSizeSource = img.Header.PageSize, SizeFromHeader
		default:
			return nil, ErrNotDatabase
		}
	}
	img.main = padToPages(main, img.PageSize)
	img.FilePages = uint32(len(img.main) / img.PageSize)
	if walPresent {
		img.WAL, img.walPages = readWAL(wal, img.PageSize)
		if !img.WAL.HeaderValid {
			img.note("WAL ignored: %s", img.WAL.HeaderProblem)
		}
	}
	img.sizePages()
	img.settleHeader()
	return img, nil
}

// walOnlyReach bounds the size of a database read from its -wal alone:
// so many pages per page the -wal holds (a frame is at least 536 bytes),
// keeping the per-page bookkeeping proportional to the input whatever
// size a forged commit claims; and never past maxWALOnlyPages.
const (
	walOnlyReach    = 64
	maxWALOnlyPages = 1 << 22
)

// padToPages zero-fills a final partial page so every page slice is whole;
// the missing bytes read as unallocated space.
func padToPages(b []byte, ps int) []byte {
	if r := len(b) % ps; r != 0 {
		b = append(b, make([]byte, ps-r)...)
	}
	return b
}

// sizePages decides how many pages the database has: the last WAL commit's
// size when there is one, else the header's count when it is valid and not
// beyond the file, else the file size. A size claimed by damaged data is
// capped by the pages that actually exist, so NPages is bounded by the
// input's size (by walOnlyReach per -wal page for a -wal without its
// database).
func (img *Image) sizePages() {
	n := img.FilePages
	if h := img.Header; h.Sane() && h.PageCountValid() && h.PageCount < n {
		n = h.PageCount
	}
	if img.WAL.Applied > 0 {
		// A page the WAL names past every page that exists cannot be real:
		// growth writes each new page as a frame. The cap also keeps a forged
		// page number from sizing per-page tables.
		reach := min(img.WAL.MaxPage, img.FilePages+uint32(len(img.walPages)))
		if img.FilePages == 0 {
			// No main file (missing or 0 bytes): the WAL is all there
			// is, and the pages of the last commit's database it does
			// not hold were the lost file's: unreadable (Page returns
			// nil), not absent, so the loss accounting counts them. Up
			// to a bound on what a forged size may claim (walOnlyReach;
			// auto's note gives the last commit's size in full).
			reach = uint32(min(maxWALOnlyPages, walOnlyReach*uint64(len(img.walPages))))
		}
		n = min(img.WAL.DBSize, max(img.FilePages, reach))
	}
	img.NPages = n
}

// settleHeader takes reserved bytes and encoding from page 1 as the WAL
// left it, falling back to the main file's header and then to defaults.
func (img *Image) settleHeader() {
	img.Effective = ParseHeader(img.Page(1))
	h := img.Effective
	if !h.Sane() || h.PageSize != img.PageSize {
		h = img.Header
	}
	if h.Sane() && h.PageSize == img.PageSize {
		img.Reserved = h.Reserved
	} else if img.PageSizeSource == SizeFromDetected {
		img.note("header unreadable: assuming 0 reserved bytes")
	}
	img.Encoding = h.Encoding
	if img.Encoding < 1 || img.Encoding > 3 {
		img.Encoding = 1
	}
}

func (img *Image) note(format string, args ...any) {
	img.Notes = append(img.Notes, fmt.Sprintf(format, args...))
}

// Usable is the page size less the reserved bytes at the end of each page.
func (img *Image) Usable() int { return img.PageSize - img.Reserved }

// Page returns page n (1-based) trimmed to its usable bytes, or nil when it
// is outside the database or missing from a truncated file.
func (img *Image) Page(n uint32) []byte {
	if n == 0 || n > img.NPages {
		return nil
	}
	if p, ok := img.walPages[n]; ok {
		return p[:img.Usable()]
	}
	off := int64(n-1) * int64(img.PageSize)
	if off+int64(img.PageSize) > int64(len(img.main)) {
		return nil
	}
	return img.main[off : off+int64(img.Usable())]
}

// FromWAL reports whether page n comes from a WAL frame.
func (img *Image) FromWAL(n uint32) bool { _, ok := img.walPages[n]; return ok }

// PagesFromWAL counts the pages the WAL provides.
func (img *Image) PagesFromWAL() int { return len(img.walPages) }

// btree parses page n as a b-tree page (page 1's header sits at offset 100).
func (img *Image) btree(n uint32) (*btreePage, error) {
	data := img.Page(n)
	if data == nil {
		return nil, fmt.Errorf("page %d: missing: %w", n, errBadPage)
	}
	hdr := 0
	if n == 1 {
		hdr = 100
	}
	return parsePage(n, data, hdr)
}

// detectPageSize is sqlitefile.DetectPageSize with looksValid's extra
// test (the first cell of a table leaf decodes).
func detectPageSize(b []byte) int { return sqlitefile.DetectPageSize(b, acceptPage) }

func scorePageSize(b []byte, ps int) int { return sqlitefile.ScorePageSize(b, ps, acceptPage) }

// acceptPage is looksValid for a page sqlitefile already found consistent.
func acceptPage(pgno uint32, data []byte, h sqlitefile.PageHeader) bool {
	p := &btreePage{PageHeader: h, pgno: pgno, data: data}
	return p.looksValid()
}
