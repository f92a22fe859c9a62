package migrate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/host"
	"github.com/kanbanshim/kanbanshim/internal/proc"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// ErrJournalRefused is matched by a *JournalError.
var ErrJournalRefused = errors.New("migrate: journal mode change refused")

// JournalError says why the journal mode of a board was not changed. A
// journal-mode change on a file another process has open is what
// corrupted upstream boards (field incidents §4.1, §4.2), so every doubt
// is a refusal.
type JournalError struct {
	From, To string
	Reason   string
}

func (e *JournalError) Error() string {
	return fmt.Sprintf("refusing to change the journal mode from %s to %s: %s", e.From, e.To, e.Reason)
}

// Unwrap lets callers match ErrJournalRefused.
func (e *JournalError) Unwrap() error { return ErrJournalRefused }

// Peer is what is known about the SQLite of the local hermes Python, the
// process most likely to share a board with us (internal/host asks).
type Peer = host.PeerInfo

// JournalMode reads the journal mode of the main database of c (a plain
// read: it never changes anything).
func JournalMode(c *sqlite3.Conn) (string, error) {
	m, _, err := sqlx.QueryText(c, "PRAGMA journal_mode")
	if err != nil {
		return "", fmt.Errorf("read journal mode: %w", err)
	}
	return strings.ToLower(m), nil
}

// normJournal validates a --journal value: "" or "keep" mean no change.
func normJournal(v string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "keep":
		return "", nil
	case "wal":
		return "wal", nil
	case "delete":
		return "delete", nil
	}
	return "", fmt.Errorf("invalid journal mode %q (choose keep, wal or delete)", v)
}

// journalPolicy refuses a switch to WAL on a filesystem that cannot share
// a WAL index, or while the local hermes Python links a SQLite with the
// WAL-reset bug (unless forced: the operator knows that Python never
// touches this board).
func (u *upgrade) journalPolicy(ctx context.Context, from, to string) error {
	if to != "wal" {
		return nil
	}
	if u.o.NetworkFS != nil {
		if name, network := u.o.NetworkFS(filepath.Dir(u.path)); network {
			return &JournalError{From: from, To: to, Reason: name + " cannot share a WAL index between processes"}
		}
	}
	if u.o.Peer == nil || u.o.Force {
		return nil
	}
	if p := u.o.Peer(ctx); p.Affected {
		return &JournalError{From: from, To: to, Reason: fmt.Sprintf(
			"the local hermes Python (%s) links SQLite %s, which has the WAL-reset bug (fixed in 3.51.3; backports 3.50.7 and 3.44.6) and shares this board; upgrade its SQLite, or pass --force if it never opens this board",
			p.Python, p.Version)}
	}
	return nil
}

// othersOpen refuses while any other process has the database, its -wal
// or its -shm open (Python peers take none of our locks, so /proc is the
// only way to see them). Without /proc nobody can be ruled out.
func othersOpen(path, from, to string) error {
	ops, err := proc.ScanOpeners(path, board.WAL(path), board.SHM(path))
	if err != nil {
		return &JournalError{From: from, To: to, Reason: "cannot tell which processes have the board open: " + err.Error()}
	}
	var who []string
	for _, o := range ops {
		if o.Self || o.PID == os.Getpid() {
			continue
		}
		who = append(who, describeOpener(o))
	}
	if len(who) > 0 {
		return &JournalError{From: from, To: to, Reason: "other processes have the board open: " + strings.Join(who, ", ")}
	}
	return nil
}

func describeOpener(o proc.Opener) string {
	s := "pid " + strconv.Itoa(o.PID)
	if len(o.Cmdline) > 0 {
		s += " (" + strings.Join(o.Cmdline, " ") + ")"
	}
	return s
}

// setJournalMode switches the mode; SQLite reports the mode in effect,
// which must be the one asked for.
func setJournalMode(c *sqlite3.Conn, to string) (string, error) {
	got, _, err := sqlx.QueryText(c, "PRAGMA journal_mode="+to)
	if err != nil {
		return "", fmt.Errorf("set journal mode %s: %w", to, err)
	}
	got = strings.ToLower(got)
	if got != to {
		return got, fmt.Errorf("set journal mode %s: SQLite kept %s", to, got)
	}
	return got, nil
}
