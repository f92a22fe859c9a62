package recover

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"
)

// SalvageOptions configures Salvage.
type SalvageOptions struct {
	DBPath   string           // the damaged board; only ever read, through a copy
	OutPath  string           // the fresh database to create; must not exist
	Progress io.Writer        // one line per 200 ms of "pages scanned / total"; nil for none
	Now      func() time.Time // clock for the report and filled-in timestamps; nil means time.Now
	// SnapshotDir holds the board's verified snapshots (board.Snapshot
	// sets): rows the loss accounting names that the newest usable one
	// holds are restored from it. SnapshotPath names one snapshot instead
	// (read through a private copy). Both empty: no snapshot is used.
	SnapshotDir  string
	SnapshotPath string
}

// Salvage copies the board (db, -wal, -shm) to a scratch directory, reads
// every row it can from the copy's pages, and writes them into a new
// database at OutPath created from the canonical schema. OutPath appears
// only complete and passing integrity_check. The original files are never
// opened for writing.
func Salvage(ctx context.Context, opts SalvageOptions) (*Report, error) {
	return salvage(ctx, opts, runtime.GOMAXPROCS(0) > 1)
}

// salvage is Salvage, with the writer on a goroutine of its own when
// pipelined (pipeline.go), else after the extraction: on one core the
// overlap buys nothing. Both write the same output.
func salvage(ctx context.Context, opts SalvageOptions, pipelined bool) (*Report, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	start := time.Now()
	rep := &Report{DBPath: opts.DBPath, OutPath: opts.OutPath, StartedAt: now()}
	if opts.DBPath == "" || opts.OutPath == "" {
		return nil, errors.New("salvage: DBPath and OutPath are required")
	}
	if _, err := os.Lstat(opts.OutPath); err == nil {
		return nil, fmt.Errorf("salvage: %s: %w", opts.OutPath, ErrOutputExists)
	}
	var named *snapshotSource
	if opts.SnapshotPath != "" {
		// A snapshot the user named is checked before any work: a bad
		// path must not go unnoticed because nothing happened to be lost.
		var err error
		if named, err = openNamedSnapshot(ctx, opts.SnapshotPath); err != nil {
			return nil, fmt.Errorf("salvage: %w", err)
		}
		defer named.close()
	}
	sc, err := copyBoard(ctx, opts.DBPath)
	if err != nil {
		return nil, fmt.Errorf("salvage: %w", err)
	}
	defer sc.Close()
	img, err := Load(ctx, sc.DB)
	if err != nil {
		return nil, fmt.Errorf("salvage: %w", err)
	}
	write := opts.extractThenWrite
	if pipelined {
		write = opts.extractAndWrite
	}
	ex, ws, err := write(ctx, img, named, rep, now())
	if err != nil {
		return nil, fmt.Errorf("salvage: %w", err)
	}
	rep.fill(img, ex, ws)
	rep.IntegrityCheck = "ok"
	rep.DurationMS = time.Since(start).Milliseconds()
	return rep, nil
}

// extractThenWrite extracts img, picks the snapshot and then writes
// o.OutPath, one step after the other.
func (o SalvageOptions) extractThenWrite(ctx context.Context, img *Image, named *snapshotSource, rep *Report, now time.Time) (*Extraction, writeStats, error) {
	ex, err := extract(ctx, img, newProgress(o.Progress, nil), nil)
	if err != nil {
		return nil, writeStats{}, err
	}
	snap, err := o.snapshot(ex.Loss, named, rep)
	if err != nil {
		return nil, writeStats{}, err
	}
	if snap != named {
		defer snap.close()
	}
	ws, err := writeOutput(ctx, ex, img, o.OutPath, now, snap)
	return ex, ws, err
}

// snapshot picks the snapshot to restore from: none when nothing is
// known lost by key, or none is given or usable (a note says so); the
// one named (already opened and checked) when there is one.
func (o SalvageOptions) snapshot(loss *Loss, named *snapshotSource, rep *Report) (*snapshotSource, error) {
	switch {
	case !loss.keyed():
		if named != nil {
			rep.Notes = append(rep.Notes, fmt.Sprintf("snapshot %s checked and not needed: no row is known lost", o.SnapshotPath))
		}
		return nil, nil
	case named != nil:
		return named, nil
	case o.SnapshotDir == "":
		return nil, nil
	}
	src, notes, err := pickSnapshot(o.SnapshotDir, o.DBPath)
	rep.Notes = append(rep.Notes, notes...)
	return src, err
}
