package migrate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/sqlitefile"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// Kinds of damage CheckFiles finds.
const (
	// DamageWALChain: a frame of the -wal fails its checksum and intact
	// commits follow it. SQLite shows the board without those commits
	// and drops them at the next checkpoint, without a word.
	DamageWALChain = "wal_chain"
	// DamageRootPage: the root page of a table or index is not a b-tree
	// page of its kind (overwritten, zeroed, or past the end of the file).
	DamageRootPage = "root_page"
	// DamageEmptyWithData: the database file is missing or empty but its
	// -wal or -journal holds data. SQLite takes a zero-byte (or missing)
	// database for a new one and deletes that sidecar as it opens it.
	DamageEmptyWithData = "empty_with_data"
)

// DamageError is damage CheckFiles found in a board's files.
type DamageError struct {
	DB     string
	Kind   string // DamageWALChain, DamageRootPage or DamageEmptyWithData
	Detail string // one line, for people
	key    string // what a confirming pass must find again
}

func (e *DamageError) Error() string { return e.Detail }

// Unwrap matches ErrDamaged.
func (e *DamageError) Unwrap() error { return ErrDamaged }

// CheckFiles is the cheap look at a board's files that kanban and
// kanban-migrate take on every open, before anything is written: the -wal's
// frame chain (a break with intact commits after it is damage SQLite would
// hide), and, with roots, the root page of every table and index (read
// through the committed -wal frames, inside a read transaction so that no
// checkpoint moves pages underneath). It costs one read of the -wal (see
// docs/PERFORMANCE.md) and one page per b-tree.
//
// Damage is a *DamageError, reported only when a second pass finds it
// again, so a healthy board being written cannot look damaged. A -wal
// read while a writer commits can look broken (SQLite writes a frame's
// header before its page, and a transaction that spilled pages rewrites
// their checksums after its commit frame), so the -wal is scanned again
// holding SQLite's write lock (BEGIN IMMEDIATE, rolled back: nothing is
// written), when no commit can be half done; a writer that keeps the lock
// past confirmWait leaves the board without a verdict this time. Any other
// error means the check could not be made (SQLite's own errors, e.g.
// SQLITE_CORRUPT on the schema, come back as they are). c must not be
// inside a transaction.
func CheckFiles(ctx context.Context, c *sqlite3.Conn, db string, roots bool) error {
	first, err := checkPass(ctx, c, db, roots)
	if err != nil || first == nil {
		return err
	}
	var again *DamageError
	if first.Kind == DamageWALChain {
		again, err = confirmWAL(ctx, c, db)
	} else {
		again, err = checkPass(ctx, c, db, roots)
	}
	if err != nil || again == nil || again.key != first.key {
		return err
	}
	return again
}

// confirmWait bounds the wait for SQLite's write lock when a broken -wal
// chain is confirmed.
const confirmWait = 2 * time.Second

// confirmWAL scans the -wal again while holding SQLite's write lock.
// Where the lock cannot be had at all (a read-only board) it scans again
// after a pause instead.
func confirmWAL(ctx context.Context, c *sqlite3.Conn, db string) (*DamageError, error) {
	wctx, cancel := context.WithTimeout(ctx, confirmWait)
	old := c.SetInterrupt(wctx)
	err := c.Exec("BEGIN IMMEDIATE")
	c.SetInterrupt(old)
	cancel()
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, sqlite3.BUSY), errors.Is(err, sqlite3.INTERRUPT):
		return nil, nil // a writer kept the lock: no verdict this time
	case err != nil:
		time.Sleep(100 * time.Millisecond)
		return checkPass(ctx, c, db, false)
	}
	d, err := checkPass(ctx, c, db, false)
	return d, errors.Join(err, c.Exec("ROLLBACK"))
}

// checkPass is one pass of CheckFiles.
func checkPass(ctx context.Context, c *sqlite3.Conn, db string, withRoots bool) (_ *DamageError, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var roots []sqlitefile.Root
	if withRoots {
		// The read transaction pins what SQLite shows: in WAL mode no
		// checkpoint writes into the main file, in rollback mode no writer
		// changes it, while the pages are read below.
		if err := c.Exec("BEGIN"); err != nil {
			return nil, err
		}
		defer func() {
			if !c.GetAutocommit() {
				err = errors.Join(err, c.Exec("ROLLBACK"))
			}
		}()
		if roots, err = schemaRoots(c); err != nil {
			return nil, err
		}
	}
	pages, err := sqlitefile.OpenPages(db, "", nil)
	if err != nil {
		return nil, nil // an unreadable header is the header check's business
	}
	pageSize := pages.PageSize
	pages.Close()
	info, idx, err := sqlitefile.ScanWAL(board.WAL(db), pageSize)
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", board.WAL(db), err)
	}
	if info.Broken() {
		return &DamageError{DB: db, Kind: DamageWALChain, key: fmt.Sprintf("wal %d %d", info.Salt1, info.FirstBadFrame),
			Detail: fmt.Sprintf("frame %d of the -wal fails its checksum and %d intact commit(s) follow it, which SQLite would silently drop", info.FirstBadFrame, info.LostCommits)}, nil
	}
	if len(roots) == 0 {
		return nil, nil
	}
	return probeRoots(db, idx, roots)
}

// probeRoots checks every root page; a -wal restarted under the probe is
// scanned again, once.
func probeRoots(db string, idx *sqlitefile.WALIndex, roots []sqlitefile.Root) (*DamageError, error) {
	for attempt := 0; ; attempt++ {
		d, err := probeOnce(db, idx, roots)
		if !errors.Is(err, sqlitefile.ErrWALChanged) {
			return d, err
		}
		if attempt == 1 {
			return nil, nil // a -wal this busy: no verdict this time
		}
		pages, err := sqlitefile.OpenPages(db, "", nil)
		if err != nil {
			return nil, nil
		}
		pages.Close()
		if _, idx, err = sqlitefile.ScanWAL(board.WAL(db), pages.PageSize); err != nil {
			return nil, err
		}
	}
}

func probeOnce(db string, idx *sqlitefile.WALIndex, roots []sqlitefile.Root) (*DamageError, error) {
	pages, err := sqlitefile.OpenPages(db, board.WAL(db), idx)
	if err != nil {
		return nil, nil
	}
	defer pages.Close()
	buf := make([]byte, pages.PageSize)
	for _, r := range roots {
		err := pages.CheckRoot(r, buf)
		switch {
		case err == nil:
		case errors.Is(err, sqlitefile.ErrNotBTreePage), errors.Is(err, sqlitefile.ErrPastEnd):
			return &DamageError{DB: db, Kind: DamageRootPage, key: fmt.Sprintf("root %s %d", r.Name, r.Page),
				Detail: fmt.Sprintf("the root page of %s is damaged: %v", r.Name, err)}, nil
		default:
			return nil, err
		}
	}
	return nil, nil
}

// schemaRoots lists the b-trees of the schema with their root pages
// (page 1, the schema's own, SQLite has just read).
func schemaRoots(c *sqlite3.Conn) ([]sqlitefile.Root, error) {
	var out []sqlitefile.Root
	err := sqlx.Query(c, "SELECT type, name, rootpage, sql FROM sqlite_schema WHERE rootpage > 1", nil, func(r *sqlx.Row) error {
		kind, sql := r.Text("type"), strings.ToUpper(r.Text("sql"))
		out = append(out, sqlitefile.Root{Name: kind + " " + r.Text("name"), Page: uint32(r.Int("rootpage")),
			Index: kind == "index" || (kind == "table" && strings.Contains(sql, "WITHOUT ROWID"))})
		return nil
	})
	return out, err
}
