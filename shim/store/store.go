// Package store is the hermes-compatible board: it opens a board database
// with the connection discipline that keeps it healthy (never flip the
// journal mode of a shared file, upstream's PRAGMAs, schema through
// migrate under the init lock), runs every write as BEGIN IMMEDIATE …
// COMMIT under the board's write lease, and implements upstream's task
// operations so that events, runs and state transitions are written
// exactly as upstream writes them.
package store

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/host"
	"github.com/kanbanshim/kanbanshim/internal/proc"
	"github.com/kanbanshim/kanbanshim/lockd"
)

// Sentinel errors callers match with errors.Is.
var (
	// ErrNoSuchTask is a task id that is not on the board.
	ErrNoSuchTask = errors.New("no such task")
	// ErrCorrupt is a board that fails the header check or that SQLite
	// reports as corrupt (SQLITE_CORRUPT, SQLITE_NOTADB).
	ErrCorrupt = errors.New("corrupt board")
	// ErrNotFile is a board path that exists but is not a regular file.
	ErrNotFile = errors.New("board path is not a regular file")
	// ErrNetworkFS is a WAL board on a filesystem that cannot share WAL.
	ErrNetworkFS = errors.New("network filesystem")
	// ErrDelegatedChild refuses writes from a delegate_task child context
	// (upstream's PermissionError, word for word).
	ErrDelegatedChild = errors.New("delegate_task child contexts cannot mutate Kanban tasks or boards")
)

// Options configures Open.
type Options struct {
	// BusyTimeout is SQLite's busy timeout (upstream: 120 s, or
	// HERMES_KANBAN_BUSY_TIMEOUT_MS).
	BusyTimeout time.Duration
	// LeaseTimeout bounds the wait for the write lease.
	LeaseTimeout time.Duration
	// JournalMode is the configured mode for NEW boards: "wal" or "delete".
	// Existing boards keep theirs.
	JournalMode string
	// PeerSQLite tells whether the local hermes Python links a SQLite with
	// the WAL-reset bug; nil means "ask lazily" (only when a board is
	// created). Tests set it.
	PeerSQLite func(ctx context.Context) host.PeerInfo
	// AllowNetworkFS permits WAL on NFS/SMB/FUSE/9p/virtiofs/drvfs.
	AllowNetworkFS bool
	// Filesystem identifies the filesystem of a directory (nil:
	// host.Filesystem); tests substitute it.
	Filesystem func(dir string) host.FSInfo
	// QuarantineDir receives forensic snapshots of corrupt boards.
	QuarantineDir string
	// Board is the slug, for messages ("kanban-recover auto --board X").
	Board string
	// ReadOnly opens without creating or migrating (delegated children).
	ReadOnly bool
	// ReadVerb says the command only reads (list, show, stats, …): a hot
	// -journal (a writer died mid-transaction) is then read through a
	// private copy in which SQLite rolls it back, never rolled back in
	// the board. A schema migration still runs (upstream initialises on
	// every call), as a writer, under the lease.
	ReadVerb bool
	// Logger receives notes and warnings (nil: discard).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Hooks are test hooks (nil in production).
	Hooks *Hooks
	// NoLease skips the write lease around transactions. Benchmark-only:
	// it lets BenchmarkWriteLease measure what the lease costs. Every
	// production path leaves it false (every write is under the lease).
	NoLease bool
	// VFS names a registered SQLite VFS to open the board through (""
	// is SQLite's default). Fault-injection tests use it.
	VFS string
	// Paths are the board's workspace, attachment and log directories.
	Paths Paths
	// Terminate stops a worker's process before its claim is released
	// (reclaim, archive) and waits for it to be gone. It is called only
	// for a known pid of a host-local claim (see Store.Terminate). Nil
	// uses proc.Terminator{Grace: DefaultReclaimGrace}.Stop (30 s,
	// supervisor-aware, whole process group).
	Terminate func(ctx context.Context, pid int) proc.Stopped
}

// Hooks let tests stop a process at interesting moments.
type Hooks struct {
	// InTxn runs inside every write transaction after BEGIN, before the
	// body; returning an error rolls the transaction back.
	InTxn func(ctx context.Context, op string) error
}

// Store is one open board.
type Store struct {
	conn    *sqlite3.Conn
	path    string
	opts    Options
	lease   *lockd.Lease
	guard   *lockd.OpenGuard
	mode    string // journal mode in effect: "wal" or "delete"
	created bool   // this Open created the database file
	log     *slog.Logger
	inTxn   bool
	// roReason says why a read-only store refuses writes ("" means the
	// caller asked for read-only: a delegated child context).
	roReason string
	// damage is the board's damage marker as Open found it (nil: none).
	damage *board.Damage
	// wrote says this store committed a write: only then may closing the
	// connection checkpoint the -wal (see Close).
	wrote bool
	// hotCopy is the private directory holding a copy of a board with a
	// hot -journal, which this store reads instead of the board.
	hotCopy string
}

// Path is the board database file.
func (s *Store) Path() string { return s.path }

// Conn is the connection, for reads (never for writes: use Write or
// WriteTx).
func (s *Store) Conn() *sqlite3.Conn { return s.conn }

// JournalMode is the mode in effect ("wal" or "delete").
func (s *Store) JournalMode() string { return s.mode }

// Created reports whether this Open created the board file.
func (s *Store) Created() bool { return s.created }

// Now is the board's clock in Unix seconds (Options.Now, else the wall
// clock): what every timestamp the store writes is taken from.
func (s *Store) Now() int64 { return s.clock().Unix() }

func (s *Store) now() int64 { return s.clock().Unix() }

func (s *Store) clock() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

// Close closes the connection and releases the open guard. It keeps the
// first error.
//
// Every connection is opened with checkpoint-on-close off, so closing
// never copies the -wal into the database or deletes it. A store that
// committed a write to a board without a damage marker turns it back on
// first: SQLite then checkpoints (and removes the -wal) as the last
// connection closes, as upstream's writers do. Read-only work never does.
func (s *Store) Close() error {
	if s == nil {
		return nil
	}
	var err error
	if s.conn != nil {
		s.conn.SetInterrupt(context.Background())
		if s.mayCheckpoint() {
			_, _ = s.conn.Config(sqlite3.DBCONFIG_NO_CKPT_ON_CLOSE, false)
		}
		err = s.conn.Close()
		s.conn = nil
	}
	if s.guard != nil {
		err = errors.Join(err, s.guard.Close())
		s.guard = nil
	}
	if s.hotCopy != "" {
		err = errors.Join(err, os.RemoveAll(s.hotCopy))
		s.hotCopy = ""
	}
	return err
}

// mayCheckpoint reports whether this store may checkpoint the board: it
// wrote, it is the board itself (not a private copy), and no damage
// marker says the board is damaged.
func (s *Store) mayCheckpoint() bool { return s.wroteBoard() && s.Refuse() == nil }

// wroteBoard reports whether this store committed a write to the board
// itself (not a private copy) in WAL mode, where a checkpoint has work.
func (s *Store) wroteBoard() bool { return s.wrote && s.hotCopy == "" && s.mode == "wal" }

// CheckpointPassive runs PRAGMA wal_checkpoint(PASSIVE): copies what it
// can from the WAL without waiting on readers or writers (the dispatcher
// does it after a tick that wrote). Like Close, it does nothing unless
// this store wrote; on a board with a damage marker it refuses.
func (s *Store) CheckpointPassive() error {
	if !s.wroteBoard() {
		return nil
	}
	if err := s.Refuse(); err != nil {
		return err
	}
	return s.conn.Exec("PRAGMA wal_checkpoint(PASSIVE)")
}
