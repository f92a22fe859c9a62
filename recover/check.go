package recover

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/sqlitefile"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/migrate"
)

// Problem kinds reported by Check. Kinds are stable; details are prose.
const (
	KindHeader       = "header"        // magic or constant header fields wrong
	KindTLS          = "tls_record"    // a TLS record over the header (upstream #29507)
	KindPageSize     = "page_size"     // header page size invalid
	KindFileSize     = "file_size"     // file size not a multiple of the page size
	KindPageCount    = "page_count"    // header page count beyond the file (truncation)
	KindWALHeader    = "wal_header"    // a non-empty -wal whose header is invalid
	KindWALBadFrame  = "wal_bad_frame" // a broken frame hides later intact commits
	KindWALTorn      = "wal_torn_tail" // the -wal ends in a torn or corrupt frame
	KindMalformed    = "malformed"     // SQLite cannot read the schema or the file
	KindIntegrity    = "integrity"     // a quick_check/integrity_check row
	KindSchema       = "schema"        // the schema differs from the canonical one
	KindInvariant    = "invariant"     // a board invariant does not hold
	KindUncommitted  = "wal_uncommitted"
	KindShmStale     = "shm_stale"
	KindFileTooLarge = "file_larger_than_header"
	KindSwapPending  = "swap_interrupted" // a swap's commit was cut short: the -wal may be held aside
	KindNotSQLite    = "not_sqlite"       // no page is a b-tree page: nothing to salvage (auto --fresh)
	KindEmptyDB      = "empty_with_data"  // a missing or 0-byte database next to a -wal or -journal that holds data
)

// maxIntegrityRows caps the integrity rows kept in a report.
const maxIntegrityRows = 100

// CheckOptions configures Check.
type CheckOptions struct {
	DBPath string
	Full   bool // integrity_check instead of quick_check (index contents too)
}

// Problem is one finding. Problems make a board unhealthy; warnings do not.
type Problem struct {
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
	Index  bool   `json:"index_scoped,omitempty"` // damage confined to an index: REINDEX fixes it
}

// CheckReport is the result of Check, shaped for `kanban-recover check --json`.
type CheckReport struct {
	DBPath  string `json:"db_path"`
	Healthy bool   `json:"healthy"`
	// Empty: a 0-byte file (or a database without a single table), which
	// kanban initialises on first use. It is healthy: nothing to repair.
	Empty     bool      `json:"empty,omitempty"`
	IndexOnly bool      `json:"index_only"` // every problem is index-scoped: REINDEX fixes it
	Mode      string    `json:"mode"`       // quick_check or integrity_check
	Problems  []Problem `json:"problems"`
	Warnings  []Problem `json:"warnings,omitempty"`
	FileSize  int64     `json:"file_size"`
	Header    Header    `json:"header"`
	WAL       WALInfo   `json:"wal"`
	Shm       ShmInfo   `json:"shm"`
	// Marker is the board's damage marker after the check (see
	// CheckAndMark; Check alone leaves it nil), MarkerCleared the stale
	// marker a full check that found no damage removed.
	Marker        *board.Damage `json:"damage_marker,omitempty"`
	MarkerCleared *board.Damage `json:"damage_marker_cleared,omitempty"`
	// DBMissing: there is no database file, but its -wal or -journal
	// holds data (a KindEmptyDB problem); FileSize is then 0.
	DBMissing bool `json:"db_missing,omitempty"`

	indexScoped int
	emptyDB     *board.EmptyDBError // the copy's, see scratch.Empty
}

// FreshOnly tells whether the only repair is a fresh board (auto
// --fresh): the file is not a SQLite database, or all the board has left
// is a -journal next to a missing or empty database (the old copies of
// the pages one transaction was changing, nothing to salvage).
func (r *CheckReport) FreshOnly() bool {
	return r.Has(KindNotSQLite) || (r.emptyDB != nil && r.emptyDB.Suffix == board.JournalSuffix)
}

func (r *CheckReport) problem(kind, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Kind: kind, Detail: fmt.Sprintf(format, args...)})
}

func (r *CheckReport) warn(kind, format string, args ...any) {
	r.Warnings = append(r.Warnings, Problem{Kind: kind, Detail: fmt.Sprintf(format, args...)})
}

// Has reports whether a problem of kind was found.
func (r *CheckReport) Has(kind string) bool {
	for _, p := range r.Problems {
		if p.Kind == kind {
			return true
		}
	}
	return false
}

// Check examines a copy of the board: header, WAL chain, -shm, SQLite's
// quick_check (integrity_check with Full) on the copy, the schema against
// the canonical one, and the board invariants. Damage is reported in the
// CheckReport; an error means the board could not be checked (ErrNoBoard
// when there is no database file).
func Check(ctx context.Context, opts CheckOptions) (*CheckReport, error) {
	sc, err := copyBoard(ctx, opts.DBPath)
	if err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	defer sc.Close()
	r := &CheckReport{DBPath: opts.DBPath, Mode: "quick_check", Problems: []Problem{}, emptyDB: sc.Empty}
	r.DBMissing = sc.Empty != nil && sc.Empty.Missing
	if opts.Full {
		r.Mode = "integrity_check"
	}
	if board.SwapPending(opts.DBPath) {
		r.problem(KindSwapPending, "%s exists: a swap was interrupted; kanban-recover auto (or swap) puts the board back", board.SwapPendingPath(opts.DBPath))
	}
	if err := r.checkFiles(sc.DB); err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	switch {
	case r.FileSize == 0 && len(r.Problems) == 0:
		r.Empty = true // SQLite's empty database: nothing to look at
	case r.Has(KindNotSQLite), r.Has(KindEmptyDB):
		// SQLite would only say "file is not a database", or delete the
		// sidecar and see an empty database.
	default:
		if err := r.checkSQLite(ctx, sc.DB); err != nil {
			return nil, fmt.Errorf("check: %w", err)
		}
	}
	r.Healthy = len(r.Problems) == 0
	r.IndexOnly = len(r.Problems) > 0 && r.indexScoped == len(r.Problems)
	return r, nil
}

// checkFiles looks at the header, the WAL and the -shm without SQLite.
func (r *CheckReport) checkFiles(db string) error {
	hdr, size, err := readHead(db, 100)
	if err != nil {
		return err
	}
	r.FileSize, r.Header = size, ParseHeader(hdr)
	r.checkHeader(hdr)
	wal, err := os.ReadFile(board.WAL(db))
	walPresent := err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if walPresent {
		r.WAL, _ = readWAL(wal, r.Header.PageSize)
		r.checkWAL()
	}
	if err := r.checkSalvageable(db); err != nil {
		return err
	}
	shm, _, err := readHead(board.SHM(db), shmHeaderMinSize)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	r.Shm = inspectShm(shm, err == nil, r.WAL)
	if r.Shm.Stale {
		r.warn(KindShmStale, "%s (mxFrame %d, valid commits end at frame %d)", r.Shm.Reason, r.Shm.MxFrame, r.WAL.Applied)
	}
	return nil
}

// checkSalvageable looks closer at a file that may not be a database:
// when its header is not sane, no page of it parses as a b-tree page and
// no -wal gives another way in (sqlitefile.NotADatabase, kanban's own
// verdict), it is not a SQLite database at all, and the repair is to
// start a fresh board (auto --fresh). A missing or 0-byte database next
// to a -wal or -journal holding data is not empty: SQLite would delete
// that sidecar, a salvage reads it.
func (r *CheckReport) checkSalvageable(db string) error {
	if r.FileSize == 0 {
		if e := r.emptyDB; e != nil {
			r.problem(KindEmptyDB, "%s", e.Detail())
		}
		return nil
	}
	if sqlitefile.NotADatabase(db, board.WAL(db)) {
		r.problem(KindNotSQLite, "no page of the file is a SQLite b-tree page (text, random bytes or another format): nothing in it can be salvaged")
	}
	return nil
}

// readHead reads the first n bytes of path (fewer if it is shorter) and
// returns them with the file size.
func readHead(path string, n int) ([]byte, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	b := make([]byte, n)
	k, err := io.ReadFull(f, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, 0, err
	}
	return b[:k], fi.Size(), nil
}

func (r *CheckReport) checkHeader(hdr []byte) {
	h := r.Header
	if r.FileSize == 0 {
		return // SQLite's empty database; the schema check reports the rest
	}
	if len(hdr) < 100 {
		r.problem(KindHeader, "file is %d bytes, shorter than the 100-byte header", r.FileSize)
		return
	}
	if !h.Magic {
		r.problem(KindHeader, "magic string is %q", hdr[:16])
	}
	if h.PageSize == 0 {
		r.problem(KindPageSize, "page size field 0x%04x is not a power of two in 512..65536", be16(hdr[16:]))
	}
	if !h.FractionsOK {
		r.problem(KindHeader, "payload fractions are %d/%d/%d, want 64/32/32", hdr[21], hdr[22], hdr[23])
	}
	if off := tlsRecordOffset(hdr); off >= 0 && !h.Sane() {
		r.problem(KindTLS, "bytes from offset %d look like a TLS record (% x): a socket wrote into the file", off, hdr[off:off+3])
	}
	if h.PageSize == 0 {
		return
	}
	ps := int64(h.PageSize)
	if r.FileSize%ps != 0 {
		r.problem(KindFileSize, "file size %d is not a multiple of the page size %d", r.FileSize, ps)
	}
	if h.PageCountValid() {
		switch pages := r.FileSize / ps; {
		case int64(h.PageCount) > pages:
			r.problem(KindPageCount, "header says %d pages, the file holds %d: truncated", h.PageCount, pages)
		case int64(h.PageCount) < pages:
			r.warn(KindFileTooLarge, "header says %d pages, the file holds %d", h.PageCount, pages)
		}
	}
}

// checkWAL turns the WAL summary into problems: a broken frame followed by
// intact commits means committed work SQLite will ignore; a torn or
// corrupt last frame means the last commit is lost.
func (r *CheckReport) checkWAL() {
	w := r.WAL
	switch {
	case !w.HeaderValid:
		if w.Size > 0 {
			r.problem(KindWALHeader, "%d-byte -wal with an invalid header: %s", w.Size, w.HeaderProblem)
		}
		return
	case w.LostCommits > 0:
		r.problem(KindWALBadFrame, "frame %d fails its checksum; %d later intact commit(s) are ignored", w.FirstBadFrame, w.LostCommits)
	case w.TornTail:
		r.problem(KindWALTorn, "the -wal ends inside frame %d: the last transaction is lost", w.Frames+1)
	case w.FirstBadFrame > 0 && w.BadFrameSalted:
		r.problem(KindWALTorn, "frame %d of the current WAL fails its checksum: the transaction it belongs to is lost", w.FirstBadFrame)
	}
	if n := w.UncommittedTail(); n > 0 {
		r.warn(KindUncommitted, "%d valid frame(s) after the last commit are ignored", n)
	}
}

// checkSQLite opens the copy with SQLite (read-write is fine: it is our
// copy, and it lets SQLite replay the WAL) and runs the integrity, schema
// and invariant checks. Corruption errors become problems.
func (r *CheckReport) checkSQLite(ctx context.Context, db string) error {
	c, err := sqlite3.Open(db)
	if err != nil {
		return r.sqliteErr("open", err)
	}
	defer c.Close()
	// The pragma can fail part-way; the rows it gave first still count.
	var rows []string
	err = sqlx.Query(c, "PRAGMA "+r.Mode, nil, func(row *sqlx.Row) error {
		rows = append(rows, row.TextAt(0))
		return nil
	})
	r.integrityRows(c, rows)
	if err != nil {
		return r.sqliteErr(r.Mode, err)
	}
	insp, err := migrate.Inspect(ctx, c)
	if err != nil {
		return r.sqliteErr("read schema", err)
	}
	if len(insp.Tables) == 0 && len(r.Problems) == 0 {
		r.Empty = true // no tables at all: kanban initialises it
		return nil
	}
	drift, err := migrate.Conformity(ctx, insp)
	if err != nil {
		return err
	}
	for _, d := range migrate.Faults(drift) {
		r.problem(KindSchema, "%s", d)
	}
	return r.invariants(c, insp)
}

// sqliteErr records corruption as a problem and passes other errors on.
func (r *CheckReport) sqliteErr(step string, err error) error {
	if isCorrupt(err) {
		r.problem(KindMalformed, "%s: %v", step, err)
		return nil
	}
	return fmt.Errorf("%s: %w", step, err)
}

var (
	indexRowRE  = regexp.MustCompile(`^(wrong # of entries in index |row \d+ missing from index )`)
	treeRE      = regexp.MustCompile(`^Tree (\d+) `)
	dbBannerMsg = "*** in database main ***"
)

// integrityRows splits the pragma's rows (b-tree errors come as one row
// with embedded newlines) into problems, noting which are index-scoped.
func (r *CheckReport) integrityRows(c *sqlite3.Conn, rows []string) {
	if len(rows) == 1 && rows[0] == "ok" {
		return
	}
	indexRoots := indexRootPages(c)
	n := 0
	for _, row := range rows {
		for _, line := range strings.Split(row, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || line == dbBannerMsg || line == "ok" || n >= maxIntegrityRows {
				continue
			}
			n++
			r.problem(KindIntegrity, "%s", line)
			m := treeRE.FindStringSubmatch(line)
			if indexRowRE.MatchString(line) || (m != nil && indexRoots[m[1]]) {
				r.indexScoped++
				r.Problems[len(r.Problems)-1].Index = true
			}
		}
	}
}

// indexRootPages returns the root pages of indexes, as strings.
func indexRootPages(c *sqlite3.Conn) map[string]bool {
	out := map[string]bool{}
	_ = sqlx.Query(c, `SELECT rootpage FROM sqlite_schema WHERE type = 'index'`, nil, func(r *sqlx.Row) error {
		out[strconv.FormatInt(r.IntAt(0), 10)] = true
		return nil
	})
	return out
}
