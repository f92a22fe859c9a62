package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/fsutil"
	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/ncruces/go-sqlite3"
)

// CorruptError is a board we refuse to open. Its message keeps upstream's
// wording after the CLI's "could not initialize database: " prefix, and
// names the fix.
type CorruptError struct {
	Path     string
	Reason   string
	Snapshot string // forensic copy, "" when none could be made
	Board    string
	Err      error
}

func (e *CorruptError) Error() string {
	snap := e.Snapshot
	if snap == "" {
		snap = "<backup failed>"
	}
	fix := "kanban-recover auto --db " + e.Path
	if e.Board != "" {
		fix = "kanban-recover auto --board " + e.Board
	}
	return fmt.Sprintf("Refusing to open corrupt kanban DB at %s: %s. Original preserved; backup at %s. To repair it run: %s", e.Path, e.Reason, snap, fix)
}

// SwapPendingError means the board has an interrupted kanban-recover
// swap's journal that could not be resolved here.
type SwapPendingError struct {
	Path  string
	Board string
	Err   error // why resolving it failed; nil when nothing tried
}

func (e *SwapPendingError) Error() string {
	fix := "kanban-recover auto --db " + e.Path
	if e.Board != "" {
		fix = "kanban-recover auto --board " + e.Board
	}
	if e.Err != nil {
		return fmt.Sprintf("a kanban-recover swap of %s was interrupted and could not be resolved here (%v); run: %s", e.Path, e.Err, fix)
	}
	return fmt.Sprintf("a kanban-recover swap of %s was interrupted (%s exists); run: %s", e.Path, lockd.SwapPendingPath(e.Path), fix)
}

// Unwrap returns why resolving the swap failed.
func (e *SwapPendingError) Unwrap() error { return e.Err }

// Unwrap matches ErrCorrupt and the underlying SQLite error.
func (e *CorruptError) Unwrap() []error { return []error{ErrCorrupt, e.Err} }

// IsCorrupt reports whether err says the database file is damaged.
func IsCorrupt(err error) bool {
	return errors.Is(err, ErrCorrupt) || errors.Is(err, sqlite3.CORRUPT) || errors.Is(err, sqlite3.NOTADB)
}

// classify turns SQLite's corruption codes into a CorruptError (with a
// snapshot) and leaves every other error alone; busy and locked are not
// corruption.
func (s *Store) classify(err error) error {
	if err == nil || errors.Is(err, ErrCorrupt) {
		return err
	}
	if errors.Is(err, sqlite3.CORRUPT) || errors.Is(err, sqlite3.NOTADB) {
		return s.corrupt(err)
	}
	return err
}

// Corrupt classifies an error met while running a command on this board.
func (s *Store) Corrupt(err error) error { return s.classify(err) }

func (s *Store) corrupt(cause error) error {
	reason := cause.Error()
	var se *sqlite3.Error
	if errors.As(cause, &se) {
		reason = "sqlite refused to open file: " + se.Error()
	}
	snap, _ := Quarantine(s.path, s.opts.QuarantineDir, "detected", s.clock())
	return &CorruptError{Path: s.path, Reason: reason, Snapshot: snap, Board: s.opts.Board, Err: cause}
}

// HeaderError is an invalid SQLite header, found before SQLite opens it.
type HeaderError struct {
	Path      string
	First32   []byte
	TLSOffset int // -1 when no TLS record signature was seen
}

func (e *HeaderError) Error() string {
	tls := ""
	if e.TLSOffset >= 0 {
		tls = fmt.Sprintf(" (TLS record header detected at byte offset %d)", e.TLSOffset)
	}
	return fmt.Sprintf("file is not a database: invalid SQLite header for %s%s; first_32=%s", e.Path, tls, hex.EncodeToString(e.First32))
}

func (e *HeaderError) Unwrap() error { return sqlite3.NOTADB }

// checkHeader validates the first bytes of a non-empty file. A plain read
// is safe for us: our SQLite uses OFD locks, which closing another
// descriptor of the file cannot drop.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read header: %w", err)
	}
	defer f.Close()
	buf := make([]byte, 100)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("read header: %w", err)
	}
	buf = buf[:n]
	if n >= 16 && string(buf[:16]) == "SQLite format 3\x00" && n == 100 {
		return nil
	}
	first := buf[:min(32, n)]
	return &HeaderError{Path: path, First32: first, TLSOffset: tlsOffset(first)}
}

// tlsOffset finds a TLS record header (content type 20–23, version 3.x):
// the signature of a socket write that landed in the database file.
func tlsOffset(b []byte) int {
	for i := 0; i+2 < len(b); i++ {
		if b[i] >= 0x14 && b[i] <= 0x17 && b[i+1] == 0x03 && b[i+2] <= 0x04 {
			return i
		}
	}
	return -1
}

// Quarantine copies db, -wal and -shm into dir/<UTC ts>-<hash8>-<tag>/,
// once per distinct content (a state already quarantined returns that
// directory), keeping at most 10 sets. It only reads the board.
func Quarantine(dbPath, dir, tag string, now time.Time) (string, error) {
	if dir == "" {
		dir = filepath.Join(filepath.Dir(dbPath), "quarantine")
	}
	sum, err := ContentHash(dbPath)
	if err != nil {
		return "", err
	}
	h8 := sum[:8]
	if existing := findQuarantine(dir, h8); existing != "" {
		return existing, nil
	}
	target := filepath.Join(dir, fmt.Sprintf("%s-%s-%s", now.UTC().Format("20060102T150405Z"), h8, tag))
	if err := os.MkdirAll(target, 0o755); err != nil {
		return "", err
	}
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		if err := fsutil.CopyNew(dbPath+suffix, filepath.Join(target, filepath.Base(dbPath)+suffix), 0o644, true); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	pruneQuarantine(dir, 10)
	return target, nil
}

// ContentHash is the sha256 of the database file followed by its -wal and
// its -journal (absent ones add nothing): the identity of a board state.
// kanban's detection snapshots and kanban-recover's quarantine sets are
// both named after it, so they dedupe alike. A hot -journal is part of
// the state: without it the db is half-written.
func ContentHash(dbPath string) (string, error) {
	return HashFiles(dbPath, dbPath+"-wal", dbPath+"-journal")
}

// HashFiles hashes the contents of the regular files among paths, in
// order; absent paths and directories add nothing.
func HashFiles(paths ...string) (string, error) {
	h := sha256.New()
	for _, p := range paths {
		if fi, err := os.Stat(p); errors.Is(err, os.ErrNotExist) || (err == nil && fi.IsDir()) {
			continue
		}
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func findQuarantine(dir, h8 string) string {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		parts := strings.Split(e.Name(), "-")
		if e.IsDir() && len(parts) >= 2 && parts[1] == h8 {
			return filepath.Join(dir, e.Name())
		}
	}
	return ""
}

func pruneQuarantine(dir string, keep int) {
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names) // UTC timestamp first: lexical order is age order
	for len(names) > keep {
		os.RemoveAll(filepath.Join(dir, names[0]))
		names = names[1:]
	}
}
