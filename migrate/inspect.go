package migrate

import (
	"context"
	"fmt"
	"strings"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// ColumnInfo is one row of PRAGMA table_info.
type ColumnInfo struct {
	Name    string  `json:"name"`
	Type    string  `json:"type"`
	NotNull bool    `json:"notnull"`
	Default *string `json:"default"`
	PK      int     `json:"pk"`
}

// Inspection is what a board's schema looks like right now. The schema
// "version" of a board is derived from it: upstream keeps no user_version.
type Inspection struct {
	Tables  map[string][]ColumnInfo `json:"tables"`
	Indexes map[string]string       `json:"indexes"` // index name -> table
}

// Inspect reads the schema of the main database of c.
func Inspect(ctx context.Context, c *sqlite3.Conn) (*Inspection, error) {
	insp := &Inspection{Tables: map[string][]ColumnInfo{}, Indexes: map[string]string{}}
	var tables []string
	err := sqlx.Query(c, `SELECT type, name, tbl_name FROM sqlite_schema WHERE type IN ('table','index') ORDER BY rowid`, nil, func(r *sqlx.Row) error {
		if r.Text("type") == "table" {
			tables = append(tables, r.Text("name"))
		} else {
			insp.Indexes[r.Text("name")] = r.Text("tbl_name")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	for _, t := range tables {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		cols, err := tableInfo(c, t)
		if err != nil {
			return nil, err
		}
		insp.Tables[t] = cols
	}
	return insp, nil
}

func tableInfo(c *sqlite3.Conn, table string) ([]ColumnInfo, error) {
	var cols []ColumnInfo
	err := sqlx.Query(c, `SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)`, []any{table}, func(r *sqlx.Row) error {
		cols = append(cols, ColumnInfo{
			Name:    r.Text("name"),
			Type:    r.Text("type"),
			NotNull: r.Int("notnull") != 0,
			Default: r.NullText("dflt_value"),
			PK:      int(r.Int("pk")),
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("table_info(%s): %w", table, err)
	}
	return cols, nil
}

// HasTable reports whether the table exists.
func (in *Inspection) HasTable(t string) bool { _, ok := in.Tables[t]; return ok }

// Column returns the named column of table t.
func (in *Inspection) Column(t, name string) (ColumnInfo, bool) {
	for _, c := range in.Tables[t] {
		if strings.EqualFold(c.Name, name) {
			return c, true
		}
	}
	return ColumnInfo{}, false
}

// HasColumn reports whether table t has the column.
func (in *Inspection) HasColumn(t, name string) bool { _, ok := in.Column(t, name); return ok }

// Drifted lists the tables whose shape upstream rebuilds (step 10): legacy
// TEXT ids in events/comments/runs, or a non-INTEGER notify cursor.
func (in *Inspection) Drifted() []string {
	var out []string
	for _, t := range rebuildOrder {
		if !in.HasTable(t) {
			continue
		}
		if t == "kanban_notify_subs" {
			if c, ok := in.Column(t, "last_event_id"); ok && !strings.EqualFold(c.Type, "INTEGER") {
				out = append(out, t)
			}
			continue
		}
		c, ok := in.Column(t, "id")
		if ok && (!strings.EqualFold(c.Type, "INTEGER") || c.PK != 1) {
			out = append(out, t)
		}
	}
	return out
}

// columnType is the declared type of column name of table t ("" if none).
func (in *Inspection) columnType(t, name string) string {
	c, _ := in.Column(t, name)
	return c.Type
}
