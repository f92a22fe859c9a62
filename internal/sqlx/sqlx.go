// Package sqlx holds the few helpers every package uses to talk to SQLite
// through the low-level ncruces API: binding Go values, running a statement,
// and iterating rows with columns looked up by name.
//
// We use the low-level API rather than database/sql because kanbanshim needs
// exact control over transactions (BEGIN IMMEDIATE under a lease), one
// connection per process, and cheap start-up.
package sqlx

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ncruces/go-sqlite3"
)

// Null is an explicit SQL NULL argument; a nil interface works too.
var Null any

// Bind binds args to stmt's positional parameters. Supported argument types:
// nil, string, *string, []byte, int, int64, *int64, *int, float64, bool.
func Bind(stmt *sqlite3.Stmt, args ...any) error {
	for i, a := range args {
		p := i + 1
		var err error
		switch v := a.(type) {
		case nil:
			err = stmt.BindNull(p)
		case string:
			err = stmt.BindText(p, v)
		case *string:
			if v == nil {
				err = stmt.BindNull(p)
			} else {
				err = stmt.BindText(p, *v)
			}
		case []byte:
			err = stmt.BindBlob(p, v)
		case int:
			err = stmt.BindInt64(p, int64(v))
		case int64:
			err = stmt.BindInt64(p, v)
		case *int64:
			if v == nil {
				err = stmt.BindNull(p)
			} else {
				err = stmt.BindInt64(p, *v)
			}
		case *int:
			if v == nil {
				err = stmt.BindNull(p)
			} else {
				err = stmt.BindInt64(p, int64(*v))
			}
		case float64:
			err = stmt.BindFloat(p, v)
		case bool:
			err = stmt.BindBool(p, v)
		default:
			return fmt.Errorf("sqlx: cannot bind %T", a)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Exec runs one statement with args and returns the number of rows changed.
func Exec(c *sqlite3.Conn, sql string, args ...any) (int64, error) {
	if len(args) == 0 {
		if err := c.Exec(sql); err != nil {
			return 0, err
		}
		return c.Changes(), nil
	}
	stmt, _, err := c.Prepare(sql)
	if err != nil {
		return 0, err
	}
	defer stmt.Close()
	if err := Bind(stmt, args...); err != nil {
		return 0, err
	}
	if err := stmt.Exec(); err != nil {
		return 0, err
	}
	return c.Changes(), nil
}

// Insert runs an INSERT and returns the new rowid.
func Insert(c *sqlite3.Conn, sql string, args ...any) (int64, error) {
	if _, err := Exec(c, sql, args...); err != nil {
		return 0, err
	}
	return c.LastInsertRowID(), nil
}

// Query runs sql with args and calls fn for each row. fn reads columns
// through Row, by name, so extra or reordered columns never matter.
func Query(c *sqlite3.Conn, sql string, args []any, fn func(r *Row) error) error {
	stmt, _, err := c.Prepare(sql)
	if err != nil {
		return err
	}
	defer stmt.Close()
	if err := Bind(stmt, args...); err != nil {
		return err
	}
	r := newRow(stmt)
	for stmt.Step() {
		if err := fn(r); err != nil {
			return err
		}
	}
	return stmt.Err()
}

// QueryInt returns the first column of the first row as an int64, and
// whether a row (with a non-NULL value) was found.
func QueryInt(c *sqlite3.Conn, sql string, args ...any) (int64, bool, error) {
	var v int64
	var ok bool
	err := Query(c, sql, args, func(r *Row) error {
		if !ok && !r.IsNullAt(0) {
			v, ok = r.IntAt(0), true
		}
		return nil
	})
	return v, ok, err
}

// QueryText returns the first column of the first row as text.
func QueryText(c *sqlite3.Conn, sql string, args ...any) (string, bool, error) {
	var v string
	var ok bool
	err := Query(c, sql, args, func(r *Row) error {
		if !ok && !r.IsNullAt(0) {
			v, ok = r.TextAt(0), true
		}
		return nil
	})
	return v, ok, err
}

// QueryStrings returns the first column of every row as text.
func QueryStrings(c *sqlite3.Conn, sql string, args ...any) ([]string, error) {
	var out []string
	err := Query(c, sql, args, func(r *Row) error {
		out = append(out, r.TextAt(0))
		return nil
	})
	return out, err
}

// LinkedVersion is the version of the SQLite compiled into this binary
// ("3.54.1"), asked of the library itself at run time rather than taken
// from go.mod, so it is the one actually doing the work.
func LinkedVersion() (string, error) {
	c, err := sqlite3.Open(":memory:")
	if err != nil {
		return "", err
	}
	defer c.Close()
	v, _, err := QueryText(c, "SELECT sqlite_version()")
	return v, err
}

// IsCorrupt reports SQLite's verdict that a database file is damaged:
// SQLITE_CORRUPT or SQLITE_NOTADB, from any statement. Busy, locked and
// I/O errors are not damage.
func IsCorrupt(err error) bool {
	return errors.Is(err, sqlite3.CORRUPT) || errors.Is(err, sqlite3.NOTADB)
}

// QuoteIdent quotes a name for SQL (a table or column read from a
// board's schema may be a keyword or contain anything).
func QuoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }
