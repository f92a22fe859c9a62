package sqlx

import "github.com/ncruces/go-sqlite3"

// Row is the current row of a running query. Columns are addressed by name
// (case-sensitive, as the query or table names them); a missing column reads
// as NULL, which is how a board from an older or newer schema stays readable.
type Row struct {
	stmt *sqlite3.Stmt
	idx  map[string]int
}

func newRow(stmt *sqlite3.Stmt) *Row {
	n := stmt.ColumnCount()
	idx := make(map[string]int, n)
	for i := 0; i < n; i++ {
		name := stmt.ColumnName(i)
		if _, dup := idx[name]; !dup {
			idx[name] = i
		}
	}
	return &Row{stmt: stmt, idx: idx}
}

// Columns returns the result's column names in order.
func (r *Row) Columns() []string {
	out := make([]string, r.stmt.ColumnCount())
	for i := range out {
		out[i] = r.stmt.ColumnName(i)
	}
	return out
}

func (r *Row) col(name string) (int, bool) {
	i, ok := r.idx[name]
	if !ok || r.stmt.ColumnType(i) == sqlite3.NULL {
		return 0, false
	}
	return i, true
}

// Text returns the named column as text ("" when NULL or missing).
func (r *Row) Text(name string) string {
	if i, ok := r.col(name); ok {
		return r.stmt.ColumnText(i)
	}
	return ""
}

// NullText returns the named column as *string (nil when NULL or missing).
func (r *Row) NullText(name string) *string {
	if i, ok := r.col(name); ok {
		s := r.stmt.ColumnText(i)
		return &s
	}
	return nil
}

// Int returns the named column as int64 (0 when NULL or missing).
func (r *Row) Int(name string) int64 {
	if i, ok := r.col(name); ok {
		return r.stmt.ColumnInt64(i)
	}
	return 0
}

// NullInt returns the named column as *int64 (nil when NULL or missing).
// Text that is not an integer (an ISO date written by an old client, say)
// reads as SQLite's numeric conversion of it.
func (r *Row) NullInt(name string) *int64 {
	if i, ok := r.col(name); ok {
		v := r.stmt.ColumnInt64(i)
		return &v
	}
	return nil
}

// Value returns the named column as a Go value: nil, int64, float64, string
// or []byte.
func (r *Row) Value(name string) any {
	i, ok := r.idx[name]
	if !ok {
		return nil
	}
	return r.ValueAt(i)
}

// ValueAt returns column i as a Go value (nil when i < 0).
func (r *Row) ValueAt(i int) any {
	if i < 0 {
		return nil
	}
	switch r.stmt.ColumnType(i) {
	case sqlite3.INTEGER:
		return r.stmt.ColumnInt64(i)
	case sqlite3.FLOAT:
		return r.stmt.ColumnFloat(i)
	case sqlite3.TEXT:
		return r.stmt.ColumnText(i)
	case sqlite3.BLOB:
		return r.stmt.ColumnBlob(i, nil)
	default:
		return nil
	}
}

// IsNullAt, IntAt and TextAt read column i by position; i < 0 (a column
// Index did not find) reads as NULL.
func (r *Row) IsNullAt(i int) bool { return i < 0 || r.stmt.ColumnType(i) == sqlite3.NULL }

// IntAt returns column i as int64.
func (r *Row) IntAt(i int) int64 {
	if i < 0 {
		return 0
	}
	return r.stmt.ColumnInt64(i)
}

// TextAt returns column i as text.
func (r *Row) TextAt(i int) string {
	if i < 0 {
		return ""
	}
	return r.stmt.ColumnText(i)
}

// Index returns the position of the named column, or -1 when the result
// has none. Loops over many rows resolve their columns once with Index
// and read them with the *At accessors, which skip the name lookup.
func (r *Row) Index(name string) int {
	if i, ok := r.idx[name]; ok {
		return i
	}
	return -1
}

// RawTextAt returns column i as bytes that stay valid only until the next
// row (nil when NULL or when i < 0): for values that are only looked at.
func (r *Row) RawTextAt(i int) []byte {
	if i < 0 || r.stmt.ColumnType(i) == sqlite3.NULL {
		return nil
	}
	return r.stmt.ColumnRawText(i)
}
