package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/migrate"
)

// OpenRead opens an existing board for reading only: it never creates the
// file, never runs schema initialisation, cannot write (Write refuses) and
// never checkpoints, so it takes no write lease; a hot -journal is read
// through a private copy, and damage the open-time checks find fails it. Long-running readers such as `tail` and
// `watch` open one per poll and close it again, so they never pin a board
// that a maintenance swap is waiting for, and they see a swapped-in file
// at the next poll.
func OpenRead(ctx context.Context, path string, opts Options) (s *Store, err error) {
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = DefaultBusyTimeout
	}
	opts.ReadOnly = true
	s = &Store{path: path, opts: opts, log: opts.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	size, exists, err := s.checkFile()
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, fmt.Errorf("no kanban DB at %s: %w", path, fs.ErrNotExist)
	}
	s.damage, _ = board.ReadDamage(path)
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if g, gerr := lockd.HoldOpen(ctx, path); gerr == nil {
		s.guard = g
	} else if !errors.Is(gerr, fs.ErrPermission) && !isReadOnlyFS(gerr) {
		return nil, gerr
	}
	// Read-write without CREATE: WAL readers need the -shm, and a board
	// that vanished between polls must not come back empty.
	c, dir, err := migrate.OpenLiveRead(ctx, path, sqlite3.OPEN_READWRITE)
	if err != nil {
		return nil, s.classify(err)
	}
	s.conn, s.hotCopy = c, dir
	if err := c.BusyTimeout(opts.BusyTimeout); err != nil {
		return nil, err
	}
	c.SetInterrupt(ctx)
	if err := c.Exec("PRAGMA cell_size_check=ON"); err != nil {
		return nil, s.classify(err)
	}
	if size > 0 && s.hotCopy == "" {
		if err := s.checkFiles(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}
