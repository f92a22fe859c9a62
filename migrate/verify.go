package migrate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// ErrVerify is matched by a *VerifyError.
var ErrVerify = errors.New("migrate: verification failed")

// VerifyError is a board that fails the check after migration: SQLite's
// integrity_check found damage, or the schema still lacks something the
// migration is responsible for.
type VerifyError struct {
	Integrity []string // integrity_check messages; empty when it said ok
	Faults    []Drift  // missing tables, columns or indexes; drifted tables
}

func (e *VerifyError) Error() string {
	var parts []string
	if len(e.Integrity) > 0 {
		parts = append(parts, "integrity_check: "+strings.Join(e.Integrity, "; "))
	}
	for _, d := range e.Faults {
		parts = append(parts, d.String())
	}
	return "verification failed: " + strings.Join(parts, "; ")
}

// Unwrap lets callers match ErrVerify.
func (e *VerifyError) Unwrap() error { return ErrVerify }

// Verify runs PRAGMA integrity_check and the schema conformity check on the
// main database of c (inside a transaction it sees that transaction's
// changes). It returns a *VerifyError when either fails. Columns whose type
// or default differs from ours are not failures: the migration never
// changes an existing column, and upstream reads them as they are.
func Verify(ctx context.Context, c *sqlite3.Conn) error {
	msgs, err := IntegrityCheck(c)
	if err != nil {
		return err
	}
	insp, err := Inspect(ctx, c)
	if err != nil {
		return err
	}
	ds, err := Conformity(ctx, insp)
	if err != nil {
		return err
	}
	faults := MigrationFaults(ds)
	if len(msgs) > 0 || len(faults) > 0 {
		return &VerifyError{Integrity: msgs, Faults: faults}
	}
	return nil
}

// MigrationFaults keeps the drifts a migration must have removed: missing
// tables, columns and indexes, and tables still needing a rebuild.
func MigrationFaults(ds []Drift) []Drift {
	var out []Drift
	for _, d := range ds {
		switch d.Kind {
		case "missing_table", "missing_column", "missing_index", "drifted_table":
			out = append(out, d)
		}
	}
	return out
}

// IntegrityCheck runs PRAGMA integrity_check and returns its messages, or
// nil when it reports "ok".
func IntegrityCheck(c *sqlite3.Conn) ([]string, error) {
	return check(c, "PRAGMA integrity_check")
}

// QuickCheck runs PRAGMA quick_check (no index cross-checks) likewise.
func QuickCheck(c *sqlite3.Conn) ([]string, error) {
	return check(c, "PRAGMA quick_check")
}

func check(c *sqlite3.Conn, pragma string) ([]string, error) {
	msgs, err := sqlx.QueryStrings(c, pragma)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", strings.TrimPrefix(pragma, "PRAGMA "), err)
	}
	if len(msgs) == 1 && strings.EqualFold(strings.TrimSpace(msgs[0]), "ok") {
		return nil, nil
	}
	if len(msgs) == 0 {
		msgs = []string{"no result"}
	}
	return msgs, nil
}
