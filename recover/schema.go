package recover

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/migrate"
)

// Schema sources reported per table and for the extraction.
const (
	SchemaFromPage1   = "page1"
	SchemaFromOrphans = "orphan-scan"
	SchemaBuiltin     = "builtin"
)

// SchemaEntry is one row of sqlite_schema.
type SchemaEntry struct {
	Type     string `json:"type"`
	Name     string `json:"name"`
	TblName  string `json:"tbl_name"`
	RootPage uint32 `json:"rootpage"`
	SQL      string `json:"sql,omitempty"`
	Source   string `json:"source"`
}

// Column is one column of a salvaged table, as its old schema declared it.
type Column struct {
	Name    string  `json:"name"`
	Type    string  `json:"type"`
	NotNull bool    `json:"notnull"`
	Default *string `json:"default,omitempty"`
	PK      int     `json:"pk"`
}

// schemaEntry reads a sqlite_schema record; ok is false when the record does
// not have that shape (so a stray page is not taken for schema).
func schemaEntry(r Row, source string) (SchemaEntry, bool) {
	v := r.Values
	if len(v) != 5 || v[0].Kind != Text || v[1].Kind != Text || v[2].Kind != Text ||
		v[3].Kind != Integer || (v[4].Kind != Text && v[4].Kind != Null) {
		return SchemaEntry{}, false
	}
	typ := string(v[0].Raw)
	switch typ {
	case "table", "index", "view", "trigger":
	default:
		return SchemaEntry{}, false
	}
	if v[3].Int < 0 || v[3].Int > 1<<31 {
		return SchemaEntry{}, false
	}
	return SchemaEntry{Type: typ, Name: string(v[1].Raw), TblName: string(v[2].Raw),
		RootPage: uint32(v[3].Int), SQL: string(v[4].Raw), Source: source}, true
}

// readSchema walks sqlite_schema from page 1. If page 1 is damaged or the
// schema lacks kanban tables, it also scans unclaimed pages for leaves whose
// every cell is a schema row (the schema's own leaves survive page 1).
func (x *extractor) readSchema() []SchemaEntry {
	var entries []SchemaEntry
	st := x.walk(1, true, func(p *btreePage) {
		if !p.IsLeaf() {
			return
		}
		rows, _ := x.tableCells(p)
		for _, r := range rows {
			if e, ok := schemaEntry(r, SchemaFromPage1); ok {
				entries = append(entries, e)
			}
		}
	})
	for _, b := range st.bad {
		x.notData[b.page] = true
	}
	x.schemaDamaged = len(st.bad) > 0
	if !hasAllTables(entries) {
		entries = mergeEntries(entries, x.scanSchemaPages())
	}
	return entries
}

func hasAllTables(es []SchemaEntry) bool {
	have := map[string]bool{}
	for _, e := range es {
		if e.Type == "table" {
			have[e.Name] = true
		}
	}
	for _, t := range migrate.CoreTables {
		if !have[t] {
			return false
		}
	}
	return true
}

// scanSchemaPages returns schema rows found on unclaimed table leaves whose
// cells are all schema-shaped, and claims those pages.
func (x *extractor) scanSchemaPages() []SchemaEntry {
	var out []SchemaEntry
	for pg := uint32(1); pg <= x.img.NPages; pg++ {
		if x.use.get(pg) != useUnknown {
			continue
		}
		p, err := x.img.btree(pg)
		if err != nil || p.Type != typeTableLeaf || p.NCells == 0 {
			continue
		}
		if !x.schemaShaped(p) {
			continue
		}
		x.use.set(pg, useSchema)
		rows, _ := x.tableCells(p)
		for _, r := range rows {
			if e, ok := schemaEntry(r, SchemaFromOrphans); ok {
				out = append(out, e)
			}
		}
	}
	return out
}

// schemaShaped reports whether every cell of a table leaf is a schema row,
// judged from the bytes on the page alone (a long CREATE statement spills to
// overflow pages, which are claimed only once the page is accepted).
func (x *extractor) schemaShaped(p *btreePage) bool {
	for i := 0; i < p.NCells; i++ {
		c, err := p.tableLeafCell(i)
		if err != nil {
			return false
		}
		rec, err := decodeRecord(c.local, uint64(len(c.local)) == c.size)
		if err != nil || (rec.Partial && rec.CutAt < 4) {
			return false
		}
		if _, ok := schemaEntry(Row{Values: rec.Values}, ""); !ok {
			return false
		}
	}
	return true
}

// mergeEntries appends to a the entries of b whose names a lacks.
func mergeEntries(a, b []SchemaEntry) []SchemaEntry {
	have := map[string]bool{}
	for _, e := range a {
		have[e.Name] = true
	}
	for _, e := range b {
		if !have[e.Name] {
			have[e.Name] = true
			a = append(a, e)
		}
	}
	return a
}

// buildTables turns schema rows into table definitions. Column lists come
// from SQLite itself (each CREATE TABLE is run in a scratch in-memory
// database and read back with table_info), so declared types, primary keys
// and INTEGER PRIMARY KEY aliases follow SQLite's rules exactly. Kanban
// tables whose schema row is lost or unparsable get the canonical columns.
func buildTables(ctx context.Context, entries []SchemaEntry) ([]*TableData, []string, error) {
	mem, err := sqlite3.Open(":memory:")
	if err != nil {
		return nil, nil, fmt.Errorf("open scratch schema db: %w", err)
	}
	defer mem.Close()
	var tables []*TableData
	var notes []string
	seen := map[string]bool{}
	for _, e := range entries {
		if e.Type != "table" || e.RootPage == 0 || seen[strings.ToLower(e.Name)] {
			continue
		}
		seen[strings.ToLower(e.Name)] = true
		t, err := describeTable(ctx, mem, e)
		if err != nil {
			notes = append(notes, fmt.Sprintf("table %s: %v", e.Name, err))
			continue
		}
		tables = append(tables, t)
	}
	builtin, err := builtinTables(ctx, tables)
	if err != nil {
		return nil, nil, err
	}
	tables = append(tables, builtin...)
	sort.SliceStable(tables, func(i, j int) bool {
		ri, rj := tables[i].Root, tables[j].Root
		return ri != 0 && (rj == 0 || ri < rj)
	})
	return tables, notes, nil
}

// describeTable runs one CREATE TABLE in mem and reads its columns back.
func describeTable(ctx context.Context, mem *sqlite3.Conn, e SchemaEntry) (*TableData, error) {
	t := &TableData{Name: e.Name, Root: e.RootPage, SQL: e.SQL, Source: e.Source, IPK: -1}
	if e.Name == "sqlite_sequence" {
		t.Columns = []Column{{Name: "name"}, {Name: "seq"}}
		t.finish()
		return t, nil
	}
	if strings.HasPrefix(strings.ToLower(e.Name), "sqlite_") {
		return nil, fmt.Errorf("internal table skipped")
	}
	up := strings.ToUpper(e.SQL)
	if !strings.HasPrefix(up, "CREATE TABLE") || strings.Contains(up, "WITHOUT ROWID") {
		return nil, fmt.Errorf("not an ordinary rowid table")
	}
	if err := execOne(mem, e.SQL); err != nil {
		if cols := canonicalColumns(ctx, e.Name); cols != nil {
			t.Columns, t.Source = cols, SchemaBuiltin
			t.finish()
			t.addLayout(legacyLayout(ctx, e.Name))
			return t, nil
		}
		return nil, fmt.Errorf("schema sql does not parse: %w", err)
	}
	insp, err := migrate.Inspect(ctx, mem)
	if err != nil {
		return nil, err
	}
	t.Columns = fromInfo(insp.Tables[e.Name])
	t.finish()
	t.pkIndex, _, _ = sqlx.QueryText(mem, `SELECT name FROM pragma_index_list(?) WHERE origin = 'pk'`, e.Name)
	return t, nil
}

// builtinTables supplies the canonical kanban tables the schema lost; their
// root is unknown (0), so their rows can only come from the orphan scan.
func builtinTables(ctx context.Context, have []*TableData) ([]*TableData, error) {
	got := map[string]bool{}
	for _, t := range have {
		got[t.Name] = true
	}
	var out []*TableData
	for _, name := range append(append([]string{}, migrate.CoreTables...), "sqlite_sequence") {
		if got[name] {
			continue
		}
		t := &TableData{Name: name, Source: SchemaBuiltin, IPK: -1}
		if name == "sqlite_sequence" {
			t.Columns = []Column{{Name: "name"}, {Name: "seq"}}
		} else {
			t.Columns = canonicalColumns(ctx, name)
		}
		if t.Columns == nil {
			return nil, fmt.Errorf("no canonical columns for %s", name)
		}
		t.finish()
		t.addLayout(legacyLayout(ctx, name))
		out = append(out, t)
	}
	return out, nil
}

// canonicalColumns returns a kanban table's columns from migrate's schema.
func canonicalColumns(ctx context.Context, table string) []Column {
	c, err := migrate.Canonical(ctx)
	if err != nil || !c.HasTable(table) {
		return nil
	}
	return fromInfo(c.Tables[table])
}

func fromInfo(info []migrate.ColumnInfo) []Column {
	out := make([]Column, len(info))
	for i, c := range info {
		out[i] = Column{Name: c.Name, Type: c.Type, NotNull: c.NotNull, Default: c.Default, PK: c.PK}
	}
	return out
}

// execOne runs exactly one statement: schema text comes from a damaged,
// possibly hostile file, so a second statement after the CREATE TABLE is
// refused rather than run.
func execOne(c *sqlite3.Conn, sql string) error {
	st, tail, err := c.Prepare(sql)
	if err != nil {
		return err
	}
	defer st.Close()
	if strings.TrimSpace(tail) != "" {
		return fmt.Errorf("more than one statement")
	}
	return st.Exec()
}
