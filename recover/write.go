package recover

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/migrate"
)

// writeStats is what writing the fresh database did, per table.
type writeStats struct {
	inserted map[string]int
	failed   map[string]int
	added    map[string][]string
	repaired map[string]int // NOT NULL fields a cut record lost, filled in
	lost     int
	restored *Restored // rows put back from a snapshot, nil without one
}

// writer fills one fresh database.
type writer struct {
	ctx  context.Context
	conn *sqlite3.Conn
	img  *Image
	now  time.Time
	st   writeStats
	lost []lostEntry
	snap *snapshotSource // where lost rows are restored from; nil for none
}

// lostEntry is a row bound for lost_and_found.
type lostEntry struct {
	page         uint32
	cell         int
	rowid        int64
	values       []Value
	table, cause string
}

// writeOutput creates out from the canonical schema and fills it with ex,
// then (with snap) restores from the snapshot the rows ex lost, through
// out+".tmp" in the same directory: the file is fsynced and only then
// linked into place, so out is either complete or absent.
func writeOutput(ctx context.Context, ex *Extraction, img *Image, out string, now time.Time, snap *snapshotSource) (writeStats, error) {
	f := newFeed()
	close(f.tables)
	f.final <- final{ex: ex, snap: snap}
	return writeFed(ctx, img, out, now, f)
}

// writeFed is writeOutput fed by f: tables handed early are inserted
// while the extraction goes on (pipeline.go). On any error, the final
// message's included, out+".tmp" is removed and out never appears.
func writeFed(ctx context.Context, img *Image, out string, now time.Time, f *feed) (writeStats, error) {
	tmp := out + ".tmp"
	removeDB(tmp)
	w := &writer{ctx: ctx, img: img, now: now, st: newWriteStats()}
	if err := w.build(tmp, f); err != nil {
		removeDB(tmp)
		return w.st, err
	}
	if err := publish(tmp, out); err != nil {
		removeDB(tmp)
		return w.st, err
	}
	return w.st, nil
}

func newWriteStats() writeStats {
	return writeStats{inserted: map[string]int{}, failed: map[string]int{}, added: map[string][]string{}, repaired: map[string]int{}}
}

// clone copies the counts, to go back to them with a savepoint.
func (s writeStats) clone() writeStats {
	c := s
	c.inserted, c.failed, c.repaired = maps.Clone(s.inserted), maps.Clone(s.failed), maps.Clone(s.repaired)
	c.added = make(map[string][]string, len(s.added))
	for k, v := range s.added {
		c.added[k] = slices.Clone(v)
	}
	return c
}

// build runs every step on a connection to tmp and closes it.
func (w *writer) build(tmp string, f *feed) (err error) {
	w.conn, err = sqlite3.Open(tmp)
	if err != nil {
		return fmt.Errorf("create output: %w", err)
	}
	w.conn.SetInterrupt(w.ctx)
	defer func() {
		if cerr := w.conn.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close output: %w", cerr)
		}
	}()
	// The file is private until publish fsyncs and links it, and a failed
	// build is thrown away, so it is built without a journal file or
	// fsyncs and switched to WAL at the end: each page is written once,
	// not to a WAL and again by a checkpoint. The in-memory journal keeps
	// statement and transaction rollback working.
	for _, p := range []string{"PRAGMA journal_mode=MEMORY", "PRAGMA foreign_keys=OFF", "PRAGMA synchronous=OFF", "PRAGMA cache_size=-65536"} {
		if err := w.conn.Exec(p); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	if _, err := migrate.Apply(w.ctx, w.conn, migrate.Options{Now: w.now.Unix()}); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	ex, err := w.fill(f)
	if err != nil {
		return err
	}
	if w.snap != nil {
		if w.st.restored, err = restoreFrom(w.ctx, w.conn, w.snap, ex.Loss, w.now); err != nil {
			return fmt.Errorf("restore from snapshot %s: %w", w.snap.named, err)
		}
	}
	if err := w.integrity(); err != nil {
		return err
	}
	if mode, _, err := sqlx.QueryText(w.conn, "PRAGMA journal_mode=WAL"); err != nil || mode != "wal" {
		return fmt.Errorf("switch output to WAL: got %q: %v", mode, err)
	}
	return nil
}

// fill inserts every table in one transaction: the rows handed early as
// they come (insertEarly), then, from the first table whose final rows
// are not the ones inserted early (keepEarly), the final extraction. The
// result is what inserting the final extraction in one go gives.
func (w *writer) fill(f *feed) (ex *Extraction, err error) {
	tx, err := w.conn.BeginImmediate()
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.End(&err)
	marks, err := w.insertEarly(f.tables)
	if err != nil {
		return nil, err
	}
	fin := <-f.final
	if fin.err != nil {
		return nil, fin.err
	}
	ex, w.snap = fin.ex, fin.snap
	redo, err := w.keepEarly(marks, ex)
	if err != nil {
		return nil, err
	}
	for _, t := range ex.Tables[redo:] {
		if err := w.ctx.Err(); err != nil {
			return nil, err
		}
		if err := w.table(t, t.Rows); err != nil {
			return nil, fmt.Errorf("table %s: %w", t.Name, err)
		}
	}
	if t := ex.Table("sqlite_sequence"); t != nil {
		if err := w.sequence(t); err != nil {
			return nil, err
		}
	}
	for _, l := range ex.LostAndFound {
		w.lost = append(w.lost, lostEntry{page: l.Page, cell: l.Cell, rowid: l.Rowid, values: l.Values, cause: "shape fits no table"})
	}
	return ex, w.lostAndFound()
}

// integrity runs integrity_check on the output and wants exactly "ok".
func (w *writer) integrity() error {
	rows, err := sqlx.QueryStrings(w.conn, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrOutputCorrupt, err)
	}
	if len(rows) != 1 || rows[0] != "ok" {
		return fmt.Errorf("%w: %s", ErrOutputCorrupt, strings.Join(rows, "; "))
	}
	return nil
}

// sequence raises sqlite_sequence to the old board's values, so ids the
// damaged board had already handed out are not reused. Inserting explicit
// ids has already made it at least max(id).
func (w *writer) sequence(t *TableData) error {
	for _, r := range t.Rows {
		if len(r.Values) != 2 || r.Values[0].Kind != Text || r.Values[1].Kind != Integer {
			continue
		}
		name, seq := string(r.Values[0].Raw), r.Values[1].Int
		n, err := sqlx.Exec(w.conn, `UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?`, seq, name)
		if err != nil {
			return fmt.Errorf("sqlite_sequence: %w", err)
		}
		if n == 0 && w.st.inserted[name] > 0 {
			if _, err := sqlx.Exec(w.conn, `INSERT INTO sqlite_sequence(name, seq) VALUES (?, ?)`, name, seq); err != nil {
				return fmt.Errorf("sqlite_sequence: %w", err)
			}
		}
	}
	return nil
}

// removeDB removes a database file and its sidecars, ignoring absence.
func removeDB(path string) {
	for _, suf := range board.WithSidecars {
		_ = os.Remove(path + suf)
	}
}

// publish makes tmp durable and moves it to out without ever replacing an
// existing file: a hard link fails if out exists; where links are not
// supported it falls back to a checked rename.
func publish(tmp, out string) error {
	for _, suf := range []string{board.WALSuffix, board.SHMSuffix} {
		if fi, err := os.Stat(tmp + suf); err == nil && fi.Size() > 0 && suf == board.WALSuffix {
			return fmt.Errorf("output WAL not checkpointed (%d bytes)", fi.Size())
		}
		_ = os.Remove(tmp + suf)
	}
	if err := syncFile(tmp); err != nil {
		return err
	}
	switch err := os.Link(tmp, out); {
	case err == nil:
		if err := os.Remove(tmp); err != nil {
			return fmt.Errorf("remove temp output: %w", err)
		}
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%s: %w", out, ErrOutputExists)
	default:
		if _, serr := os.Lstat(out); serr == nil {
			return fmt.Errorf("%s: %w", out, ErrOutputExists)
		}
		if err := os.Rename(tmp, out); err != nil {
			return fmt.Errorf("rename output: %w", err)
		}
	}
	return syncDir(filepath.Dir(out))
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open for sync: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync output: %w", err)
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir for sync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	return nil
}
