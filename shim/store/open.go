package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ncruces/go-sqlite3"
	"golang.org/x/sys/unix"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/host"
	"github.com/kanbanshim/kanbanshim/internal/proc"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/migrate"
	"github.com/kanbanshim/kanbanshim/shim/home"
)

// DefaultBusyTimeout is upstream's busy_timeout.
const DefaultBusyTimeout = home.DefaultBusyTimeout

// Open opens (creating when missing) the board at path.
//
// The discipline, in order: refuse a path that is not a regular file;
// check the header of an existing file without SQLite (a damaged board is
// never re-initialised; a zero-byte one next to a -wal or -journal that
// holds data is damaged, not empty); hold the open guard; open SQLite with
// checkpoint-on-close off (a read-only command reads a board with a hot
// -journal through a private copy instead); read the journal mode and
// never re-issue or change it on an existing file; choose the mode of a
// new file under the init lock; set upstream's PRAGMAs; check the -wal's
// frame chain and the b-tree root pages (migrate.CheckFiles); bring the
// schema up to date under the init lock and the write lease.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	s, err := open(ctx, path, opts)
	if err != nil {
		// Release the connection and the open guard of a failed open:
		// a daemon retrying a damaged board must not pile up descriptors
		// (or keep the guard a swap waits for).
		s.Close()
		return nil, err
	}
	return s, nil
}

func open(ctx context.Context, path string, opts Options) (s *Store, err error) {
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = DefaultBusyTimeout
	}
	if opts.LeaseTimeout <= 0 {
		opts.LeaseTimeout = 30 * time.Second
	}
	s = &Store{path: path, opts: opts, log: opts.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	size, exists, err := s.checkFile()
	if err != nil {
		return s, err
	}
	if !exists && opts.ReadOnly {
		return s, fmt.Errorf("no kanban DB at %s: %w", path, fs.ErrNotExist)
	}
	// The marker, read once here (one failed open(2) on a healthy board):
	// a marked board is opened for reading only, never created, set up or
	// migrated. Write checks again before every transaction.
	if s.damage, _ = board.ReadDamage(path); s.damage != nil && !exists {
		return s, board.Refuse(path, opts.Board)
	}
	if !exists {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return s, fmt.Errorf("create board directory: %w", err)
		}
	}
	if board.SwapPending(path) {
		if err := s.settleSwap(ctx); err != nil {
			return s, err
		}
		// An undone swap put the board's own sidecars back: look again.
		if size, exists, err = s.checkFile(); err != nil {
			return s, err
		}
	}
	if g, gerr := lockd.HoldOpen(ctx, path); gerr == nil {
		s.guard = g
	} else if !errors.Is(gerr, fs.ErrPermission) && !isReadOnlyFS(gerr) {
		return s, gerr
	}
	if board.SwapPending(path) { // a swap started and died since settleSwap
		// Let go of the guard (the resolve wants it), resolve, retake it.
		s.guard.Close()
		s.guard = nil
		if err := s.settleSwap(ctx); err != nil {
			return s, err
		}
		if size, exists, err = s.checkFile(); err != nil {
			return s, err
		}
		if g, gerr := lockd.HoldOpen(ctx, path); gerr == nil {
			s.guard = g
		} else if !errors.Is(gerr, fs.ErrPermission) && !isReadOnlyFS(gerr) {
			return s, gerr
		}
		if board.SwapPending(path) {
			return s, &SwapPendingError{Path: path, Board: opts.Board}
		}
	}
	copied := false
	if opts.ReadVerb && exists && size > 0 {
		if copied, err = s.openHotCopy(ctx); err != nil {
			return s, err
		}
	}
	if !copied {
		if err := s.openConn(ctx, exists); err != nil {
			return s, err
		}
	}
	s.lease = lockd.NewLease(path)
	if err := s.settleJournalMode(ctx, (!exists || size == 0) && s.damage == nil); err != nil {
		return s, err
	}
	if err := s.pragmas(); err != nil {
		return s, s.classify(err)
	}
	if exists && size > 0 && !copied {
		if err := s.checkFiles(ctx); err != nil {
			return s, err
		}
	}
	if !opts.ReadOnly && !copied && s.damage == nil {
		if err := s.ensureSchema(ctx); err != nil {
			return s, s.classify(err)
		}
	}
	return s, nil
}

// settleSwap deals with an interrupted kanban-recover swap before the
// board is opened: while its journal exists the board is blocked (its
// -wal name is a directory) or, after a crash of an older version, lacks
// its -wal, and opening it would build on a stale board. The swap is
// undone or finished here, with the same code kanban-recover uses
// (board.ResolveSwap), under the write lease in maintenance mode (which
// waits for a live swap to end). A read-only open does not resolve; it,
// or a resolve that fails, fails Open with a *SwapPendingError.
func (s *Store) settleSwap(ctx context.Context) error {
	if !board.SwapPending(s.path) {
		return nil
	}
	pe := &SwapPendingError{Path: s.path, Board: s.opts.Board}
	if s.opts.ReadOnly {
		return pe
	}
	note, err := lockd.ResolveSwap(ctx, nil, s.path, "kanban", s.opts.LeaseTimeout)
	if err != nil {
		pe.Err = err
		return pe
	}
	if note != "" {
		s.log.Warn("note: " + s.path + ": " + note)
	}
	if board.SwapPending(s.path) {
		return pe
	}
	return nil
}

// checkFile looks at the board's file before SQLite does: its size, a
// header that must be SQLite's when there is content, and, for a file
// that is missing or empty, a -wal or -journal holding data next to it
// (board.CheckEmpty): SQLite would start an empty board and delete that
// sidecar, so it is damage, refused like any other (s.corrupt).
func (s *Store) checkFile() (size int64, exists bool, err error) {
	if size, exists, err = statBoard(s.path); err != nil {
		return size, exists, err
	}
	if size > 0 {
		err = checkHeader(s.path)
	} else {
		err = board.CheckEmpty(s.path)
	}
	if err != nil {
		return size, exists, s.corrupt(err)
	}
	return size, exists, nil
}

func statBoard(path string) (size int64, exists bool, err error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("stat board: %w", err)
	case !st.Mode().IsRegular():
		return 0, true, fmt.Errorf("%s: %w", path, ErrNotFile)
	}
	return st.Size(), true, nil
}

func (s *Store) openConn(ctx context.Context, exists bool) error {
	flags := sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE
	if s.opts.ReadOnly {
		flags = sqlite3.OPEN_READONLY
	}
	name := s.path
	if s.opts.VFS != "" {
		flags |= sqlite3.OPEN_URI
		name = (&url.URL{Scheme: "file", Path: s.path, RawQuery: "vfs=" + url.QueryEscape(s.opts.VFS)}).String()
	}
	c, err := migrate.OpenLive(name, flags)
	if err != nil && exists && !s.opts.ReadOnly && errors.Is(err, sqlite3.CANTOPEN) && !writable(s.path) {
		// A board we may read but not write (0444, read-only mount):
		// C SQLite falls back to read-only by itself; we do it here, and
		// writes then fail with one clear line.
		s.opts.ReadOnly, s.roReason = true, "board "+s.path+" is read-only for this user"
		c, err = migrate.OpenLive(name, sqlite3.OPEN_READONLY|(flags&sqlite3.OPEN_URI))
	}
	if err != nil {
		if exists {
			return s.classify(err)
		}
		return fmt.Errorf("open %s: %w", s.path, err)
	}
	s.conn = c
	if err := c.BusyTimeout(s.opts.BusyTimeout); err != nil {
		return err
	}
	c.SetInterrupt(ctx)
	return nil
}

// settleJournalMode reads the mode in effect. On a new, empty file it
// picks the mode (WAL unless config, the local hermes Python's SQLite or
// the filesystem says otherwise) under the init lock; on any other file it
// changes nothing, ever.
func (s *Store) settleJournalMode(ctx context.Context, empty bool) error {
	mode, _, err := sqlx.QueryText(s.conn, "PRAGMA journal_mode")
	if err != nil {
		return s.classify(err)
	}
	s.mode = strings.ToLower(mode)
	fsOf := host.Filesystem
	if s.opts.Filesystem != nil {
		fsOf = s.opts.Filesystem
	}
	fsType := fsOf(filepath.Dir(s.path))
	if empty && !s.opts.ReadOnly {
		return s.initJournalMode(ctx, fsType)
	}
	if s.mode == "wal" && fsType.Network && !s.opts.AllowNetworkFS {
		return &NetworkFSError{Path: s.path, FS: fsType.Name}
	}
	return nil
}

func (s *Store) initJournalMode(ctx context.Context, fsType host.FSInfo) error {
	il, err := lockd.LockInit(ctx, s.path, 0)
	if err == nil {
		defer il.Close()
	} else if ctx.Err() != nil {
		return ctx.Err()
	}
	pages, _, err := sqlx.QueryInt(s.conn, "PRAGMA page_count")
	if err != nil {
		return s.classify(err)
	}
	if pages > 0 { // someone else initialised it while we waited
		mode, _, err := sqlx.QueryText(s.conn, "PRAGMA journal_mode")
		s.mode = strings.ToLower(mode)
		return err
	}
	want, why := s.chooseMode(ctx, fsType)
	if want == "wal" && othersHaveOpen(s.path) {
		want, why = "", "another process already has the new file open"
	}
	if want == "" || want == s.mode {
		if why != "" {
			s.log.Info("note: new board kept in " + s.mode + " mode: " + why)
		}
		return nil
	}
	got, _, err := sqlx.QueryText(s.conn, "PRAGMA journal_mode="+want)
	if err != nil {
		return fmt.Errorf("set journal mode of new board: %w", err)
	}
	s.mode = strings.ToLower(got)
	s.created, s.wrote = true, true
	if why != "" {
		s.log.Info("note: new board created in " + s.mode + " mode: " + why)
	}
	return nil
}

// chooseMode decides the journal mode of a brand-new board and says why
// when it is not WAL.
func (s *Store) chooseMode(ctx context.Context, fsType host.FSInfo) (mode, why string) {
	if strings.EqualFold(s.opts.JournalMode, "delete") {
		return "delete", "config.yaml database.journal_mode is delete"
	}
	if fsType.Network && !s.opts.AllowNetworkFS {
		return "delete", fsType.Name + " cannot share a WAL index between processes"
	}
	peer := host.DetectPeerSQLite
	if s.opts.PeerSQLite != nil {
		peer = s.opts.PeerSQLite
	}
	if p := peer(ctx); p.Affected {
		return "delete", fmt.Sprintf("the local hermes Python (%s) links SQLite %s, which has the WAL-reset bug (fixed in 3.51.3); it will share this file", p.Python, p.Version)
	}
	return "wal", ""
}

// pragmas applies upstream's connection settings. None of them changes
// the file's journal mode.
func (s *Store) pragmas() error {
	for _, p := range []string{
		"PRAGMA synchronous=FULL",
		"PRAGMA wal_autocheckpoint=100",
		"PRAGMA journal_size_limit=8388608",
		"PRAGMA foreign_keys=ON",
		"PRAGMA secure_delete=ON",
		"PRAGMA cell_size_check=ON",
	} {
		if s.opts.ReadOnly && strings.Contains(p, "journal_size_limit") {
			continue
		}
		if err := s.conn.Exec(p); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

// ensureSchema brings the schema up to date through migrate.Ensure: the
// plan is read without any lock; only when something is pending does it
// take the init lock (shared with upstream) and the write lease, and apply
// in one transaction that re-plans inside it, so racing initialisers
// cannot double-apply. A file with tables but no tasks table is refused:
// an empty board is never created inside a damaged or foreign database.
func (s *Store) ensureSchema(ctx context.Context) error {
	steps, err := migrate.Ensure(ctx, s.conn, migrate.EnsureOptions{DB: s.path, Lease: s.lease, LeaseTimeout: s.opts.LeaseTimeout, Now: s.now()})
	if len(steps) > 0 {
		s.wrote = true
	}
	if errors.Is(err, migrate.ErrForeignFile) {
		return s.corrupt(fmt.Errorf("file has tables but no tasks table; refusing to create a board inside it"))
	}
	return err
}

func isReadOnlyFS(err error) bool { return errors.Is(err, syscall.EROFS) }

// othersHaveOpen reports whether another process has the file (or its
// -wal/-shm) open, from /proc. Unknown (no /proc) counts as no.
func othersHaveOpen(path string) bool {
	ops, err := proc.ScanOpeners(path, board.WAL(path), board.SHM(path))
	if err != nil {
		return false
	}
	for _, o := range ops {
		if o.PID != os.Getpid() {
			return true
		}
	}
	return false
}

// writable reports whether this process may write the file and create
// files (journals) next to it.
func writable(path string) bool {
	return unix.Access(path, unix.W_OK) == nil && unix.Access(filepath.Dir(path), unix.W_OK) == nil
}
