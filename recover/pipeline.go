package recover

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Salvage runs on two goroutines so that it can use a second core: the
// extractor walks the b-trees and decodes records while the writer
// inserts the rows already read into the new database (each goroutine
// owns its own SQLite connections). What the writer inserts early is
// each table's tree rows in the order the walk added them; the orphan
// scan, the sort into rowid order, the loss accounting and the snapshot
// pick come after every walk, and the writer uses them only at the end.
// When the final rows of a table are not exactly the ones it inserted,
// in the same order (orphans joined the table, or a damaged tree gave
// rowids out of order), keepEarly goes back to that table's savepoint
// and inserts from there again, so the output is always what inserting
// the whole extraction in one go gives.

// early is a batch of one table's tree rows, in the order the walk added
// them; end marks the table's last batch (every table gets one, even
// without rows). The slice is the writer's: the extractor never touches
// it again.
type early struct {
	t    *TableData
	rows []Row
	end  bool
}

// handBatch is how many rows the extractor hands over at a time.
const handBatch = 1024

// final is the end of the extraction: the whole of it and the snapshot
// to restore from, or the error that stopped it.
type final struct {
	ex   *Extraction
	snap *snapshotSource
	err  error
}

// feed is what the writer reads: tables until the channel closes, then
// one final.
type feed struct {
	tables chan early
	final  chan final
}

// earlyBatches bounds how many batches wait for the writer before the
// extractor waits too (4 Mi rows: boards of several hundred MB).
const earlyBatches = 4096

func newFeed() *feed {
	return &feed{tables: make(chan early, earlyBatches), final: make(chan final, 1)}
}

// errAborted tells the writer the extraction failed: it stops and
// removes its temp file.
var errAborted = errors.New("extraction stopped")

// extractAndWrite extracts img and writes o.OutPath with the writer on
// its own goroutine, fed table by table. An error on either side stops
// both (the shared context is cancelled), and the writer is always waited
// for: no goroutine outlives the call, and a failed run leaves no output.
func (o SalvageOptions) extractAndWrite(parent context.Context, img *Image, named *snapshotSource, rep *Report, now time.Time) (*Extraction, writeStats, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	f := newFeed()
	type result struct {
		ws  writeStats
		err error
	}
	done := make(chan result, 1)
	go func() {
		ws, err := writeFed(ctx, img, o.OutPath, now, f)
		if err != nil {
			cancel() // stop the extractor too
		}
		done <- result{ws, err}
	}()
	hand := func(e early) error {
		select {
		case f.tables <- e:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ex, err := extract(ctx, img, newProgress(o.Progress, nil), hand)
	close(f.tables)
	var snap *snapshotSource
	if err == nil {
		snap, err = o.snapshot(ex.Loss, named, rep)
	}
	if err != nil {
		cancel()
		f.final <- final{err: errAborted}
		r := <-done
		// A writer's failure cancels the extraction: report that failure,
		// not the cancellation it caused.
		if errors.Is(err, context.Canceled) && parent.Err() == nil && r.err != nil && !errors.Is(r.err, errAborted) {
			err = r.err
		}
		return nil, writeStats{}, err
	}
	if snap != named {
		defer snap.close() // after the writer, which restores from it
	}
	f.final <- final{ex: ex, snap: snap}
	r := <-done
	return ex, r.ws, r.err
}

// mark is where the output stood before a table handed early: the
// savepoint early<i> for the i-th table, and the counts then.
type mark struct {
	t     *TableData
	given []rowRef // the rows inserted early, in order
	st    writeStats
	lost  int
}

// insertEarly inserts the batches of tables until the channel closes,
// each table after a savepoint of its own.
func (w *writer) insertEarly(tables <-chan early) (marks []mark, err error) {
	var tf *tableFill
	defer func() {
		if tf != nil {
			tf.close()
		}
	}()
	for e := range tables {
		if tf == nil {
			if err := w.conn.Exec(fmt.Sprintf("SAVEPOINT early%d", len(marks))); err != nil {
				return nil, fmt.Errorf("savepoint: %w", err)
			}
			marks = append(marks, mark{t: e.t, st: w.st.clone(), lost: len(w.lost)})
			tf = &tableFill{t: e.t}
		}
		m := &marks[len(marks)-1]
		for i := range e.rows {
			m.given = append(m.given, refOf(&e.rows[i]))
		}
		err := w.rows(tf, e.rows)
		if err == nil && e.end {
			err = w.endTable(tf)
			tf = nil
		}
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", e.t.Name, err)
		}
	}
	return marks, nil
}

// keepEarly keeps the tables inserted early up to the first one whose
// final rows are not exactly those, in the same order (orphans joined
// it, or a damaged tree gave rowids out of order): the output goes back
// to that table's savepoint, with the counts as they were then. It
// returns how many tables of ex are done.
func (w *writer) keepEarly(marks []mark, ex *Extraction) (int, error) {
	k := 0
	for k < len(marks) && k < len(ex.Tables) && marks[k].t == ex.Tables[k] && sameRows(marks[k].given, ex.Tables[k].Rows) {
		k++
	}
	if k < len(marks) {
		if err := w.conn.Exec(fmt.Sprintf("ROLLBACK TO early%d", k)); err != nil {
			return 0, fmt.Errorf("rollback to savepoint: %w", err)
		}
		w.st, w.lost = marks[k].st, w.lost[:marks[k].lost]
	}
	return k, nil
}

// rowRef is which row was inserted: a row is known by the cell it was
// read from (a page is read once, so no two rows share one).
type rowRef struct {
	rowid  int64
	page   uint32
	cell   int
	orphan bool
}

func refOf(r *Row) rowRef { return rowRef{r.Rowid, r.Page, r.Cell, r.Orphan} }

// sameRows reports whether refs are exactly rows, in order.
func sameRows(refs []rowRef, rows []Row) bool {
	if len(refs) != len(rows) {
		return false
	}
	for i := range rows {
		if refs[i] != refOf(&rows[i]) {
			return false
		}
	}
	return true
}
