package recover

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/migrate"
)

// outColumn is a column of the output table.
type outColumn struct {
	name    string
	typ     string
	notNull bool
	dflt    *Value // the evaluated DEFAULT of a NOT NULL column, if any
	ipk     bool
}

// target maps a salvaged table onto its output table.
type target struct {
	t     *TableData
	cols  []outColumn // output columns, by position
	src   []int       // src[i]: output column of source column i, -1 if none
	inv   []int       // inv[j]: source column of output column j, -1 if none
	stmts map[int]*prepared
}

// prepared is the INSERT for records of one width.
type prepared struct {
	st   *sqlite3.Stmt
	cols []int
}

// table creates or widens the output table for t and inserts rows (t's,
// in rowid order).
func (w *writer) table(t *TableData, rows []Row) error {
	tf := &tableFill{t: t}
	defer tf.close()
	if err := w.rows(tf, rows); err != nil {
		return err
	}
	return w.endTable(tf)
}

// tableFill is one table being filled, its rows given in one or more
// parts; the output table is made ready at its first row.
type tableFill struct {
	t  *TableData
	tg *target // nil until the first row, or the end
}

func (tf *tableFill) close() {
	if tf.tg != nil {
		tf.tg.close()
		tf.tg = nil
	}
}

// rows inserts the next rows of tf's table. A row SQLite refuses (a
// UNIQUE clash, say) goes to lost_and_found with the reason, never
// silently away. sqlite_sequence is left to sequence.
func (w *writer) rows(tf *tableFill, rows []Row) error {
	t := tf.t
	if t.Name == "sqlite_sequence" || len(rows) == 0 {
		return nil
	}
	if tf.tg == nil {
		tg, err := w.target(t)
		if err != nil {
			return err
		}
		tf.tg = tg
	}
	for i := range rows {
		if i%4096 == 0 {
			if err := w.ctx.Err(); err != nil {
				return err
			}
		}
		if err := w.insert(tf.tg, &rows[i]); err != nil {
			r := &rows[i]
			w.st.failed[t.Name]++
			w.lost = append(w.lost, lostEntry{page: r.Page, cell: r.Cell, rowid: r.Rowid,
				values: r.Values, table: t.Name, cause: err.Error()})
			continue
		}
		w.st.inserted[t.Name]++
	}
	return nil
}

// endTable finishes tf's table: one without rows is still created or
// widened, unless it is a canonical one nothing was read for (the schema
// has it as it should be).
func (w *writer) endTable(tf *tableFill) error {
	if tf.tg == nil && tf.t.Name != "sqlite_sequence" && tf.t.Source != SchemaBuiltin {
		tg, err := w.target(tf.t)
		if err != nil {
			return err
		}
		tf.tg = tg
	}
	tf.close()
	return nil
}

// target makes sure the output has t and every column t had (tables and
// columns the canonical schema lacks are added, never dropped), then maps
// source columns to output columns by name.
func (w *writer) target(t *TableData) (*target, error) {
	insp, err := migrate.Inspect(w.ctx, w.conn)
	if err != nil {
		return nil, err
	}
	if !insp.HasTable(t.Name) {
		if err := w.conn.Exec(createSQL(t)); err != nil {
			return nil, fmt.Errorf("create: %w", err)
		}
	} else {
		for _, c := range t.Columns {
			if insp.HasColumn(t.Name, c.Name) {
				continue
			}
			sql := fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s%s", sqlx.QuoteIdent(t.Name), sqlx.QuoteIdent(c.Name), safeType(c.Type), safeDefault(c))
			if err := w.conn.Exec(sql); err != nil {
				return nil, fmt.Errorf("add column %s: %w", c.Name, err)
			}
			w.st.added[t.Name] = append(w.st.added[t.Name], c.Name)
		}
	}
	if insp, err = migrate.Inspect(w.ctx, w.conn); err != nil {
		return nil, err
	}
	return w.newTarget(t, insp.Tables[t.Name])
}

func (w *writer) newTarget(t *TableData, info []migrate.ColumnInfo) (*target, error) {
	tg := &target{t: t, stmts: map[int]*prepared{}}
	npk := 0
	for _, c := range info {
		if c.PK > 0 {
			npk++
		}
	}
	for _, c := range info {
		oc := outColumn{name: c.Name, typ: strings.ToUpper(c.Type), notNull: c.NotNull,
			ipk: npk == 1 && c.PK == 1 && strings.EqualFold(c.Type, "INTEGER")}
		if c.NotNull && c.Default != nil {
			v, err := w.evalDefault(*c.Default)
			if err != nil {
				return nil, fmt.Errorf("default of %s: %w", c.Name, err)
			}
			oc.dflt = &v
		}
		tg.cols = append(tg.cols, oc)
	}
	tg.src = make([]int, len(t.Columns))
	tg.inv = make([]int, len(tg.cols))
	for j := range tg.inv {
		tg.inv[j] = -1
	}
	for i, c := range t.Columns {
		tg.src[i] = -1
		for j, oc := range tg.cols {
			if strings.EqualFold(oc.name, c.Name) && tg.inv[j] < 0 {
				tg.src[i], tg.inv[j] = j, i
			}
		}
	}
	return tg, nil
}

// evalDefault evaluates a column DEFAULT of the output schema (our own DDL,
// so a constant expression) to the value SQLite would store.
func (w *writer) evalDefault(expr string) (Value, error) {
	st, _, err := w.conn.Prepare("SELECT " + expr)
	if err != nil {
		return Value{}, err
	}
	defer st.Close()
	if !st.Step() {
		return Value{}, fmt.Errorf("no value: %w", st.Err())
	}
	switch st.ColumnType(0) {
	case sqlite3.INTEGER:
		return Value{Kind: Integer, Int: st.ColumnInt64(0)}, nil
	case sqlite3.FLOAT:
		return Value{Kind: Float, Real: st.ColumnFloat(0)}, nil
	case sqlite3.TEXT:
		return Value{Kind: Text, Raw: []byte(st.ColumnText(0))}, nil
	case sqlite3.BLOB:
		return Value{Kind: Blob, Raw: st.ColumnBlob(0, nil)}, nil
	}
	return Value{}, nil
}

func (tg *target) close() {
	for _, p := range tg.stmts {
		p.st.Close()
	}
}

// createSQL declares a table the canonical schema does not have: the old
// column names and types, without constraints that salvaged rows might
// break, keeping an INTEGER PRIMARY KEY so rowids survive.
func createSQL(t *TableData) string {
	defs := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		defs[i] = sqlx.QuoteIdent(c.Name) + " " + safeType(c.Type) + safeDefault(c)
		if i == t.IPK {
			defs[i] = sqlx.QuoteIdent(c.Name) + " INTEGER PRIMARY KEY"
		}
	}
	return fmt.Sprintf("CREATE TABLE %s (%s)", sqlx.QuoteIdent(t.Name), strings.Join(defs, ", "))
}

// safeType keeps a declared type only if it is plain words and numbers, as
// the type text comes from a damaged file.
func safeType(s string) string {
	for _, r := range s {
		if !(r == ' ' || r == '_' || r == '(' || r == ')' || r == ',' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return ""
		}
	}
	if strings.Count(s, "(") != strings.Count(s, ")") {
		return ""
	}
	return s
}

// literalRE matches the DEFAULTs worth carrying over: numbers and quoted
// strings (the value a record written before ADD COLUMN reads as).
var literalRE = regexp.MustCompile(`^(-?[0-9]+(\.[0-9]+)?|'([^']|'')*')$`)

// safeDefault returns " DEFAULT x" for a literal default, else "".
func safeDefault(c Column) string {
	if c.Default == nil || !literalRE.MatchString(strings.TrimSpace(*c.Default)) {
		return ""
	}
	return " DEFAULT " + strings.TrimSpace(*c.Default)
}

// columnsFor lists the output columns a record of n fields sets: the
// mapped source fields, the rowid alias, and every NOT NULL column without
// a default (which a short or cut record would otherwise leave NULL).
func (tg *target) columnsFor(n int) []int {
	var cols []int
	seen := map[int]bool{}
	for i, j := range tg.src {
		if j >= 0 && (i < n || i == tg.t.IPK) && !seen[j] {
			cols, seen[j] = append(cols, j), true
		}
	}
	for j, c := range tg.cols {
		if c.notNull && c.dflt == nil && !c.ipk && !seen[j] {
			cols, seen[j] = append(cols, j), true
		}
	}
	return cols
}

// insert binds one row and runs the cached statement for its width.
func (w *writer) insert(tg *target, r *Row) error {
	n := len(r.Values)
	p, ok := tg.stmts[n]
	if !ok {
		cols := tg.columnsFor(n)
		names := make([]string, len(cols))
		for i, j := range cols {
			names[i] = sqlx.QuoteIdent(tg.cols[j].name)
		}
		sql := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", sqlx.QuoteIdent(tg.t.Name),
			strings.Join(names, ", "), strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", "))
		st, _, err := w.conn.Prepare(sql)
		if err != nil {
			return err
		}
		p = &prepared{st: st, cols: cols}
		tg.stmts[n] = p
	}
	for i, j := range p.cols {
		if err := w.bind(p.st, i+1, tg, j, r); err != nil {
			return err
		}
	}
	err := p.st.Exec()
	p.st.ClearBindings()
	return err
}

// bind sets parameter p to the row's value for output column j.
func (w *writer) bind(st *sqlite3.Stmt, p int, tg *target, j int, r *Row) error {
	c := tg.cols[j]
	src := tg.inv[j]
	if src == tg.t.IPK && src >= 0 {
		return st.BindInt64(p, r.Rowid)
	}
	v := Value{}
	if src >= 0 && src < len(r.Values) {
		v = r.Values[src]
	}
	if c.ipk && v.Kind != Integer {
		return st.BindNull(p) // a legacy non-integer id: let SQLite assign one
	}
	if v.Kind == Null && c.notNull {
		if c.dflt != nil {
			v = *c.dflt
		} else {
			v = w.placeholder(tg.t.Name, c)
		}
		w.st.repaired[tg.t.Name]++
	}
	return w.bindValue(st, p, v, r.Partial)
}

func (w *writer) bindValue(st *sqlite3.Stmt, p int, v Value, partial bool) error {
	switch v.Kind {
	case Integer:
		return st.BindInt64(p, v.Int)
	case Float:
		return st.BindFloat(p, v.Real)
	case Text:
		b := w.text(v.Raw, partial)
		if b == nil {
			b = []byte{} // nil would bind NULL
		}
		return st.BindRawText(p, b)
	case Blob:
		return st.BindBlob(p, v.Raw)
	}
	return st.BindNull(p)
}

// placeholder stands in for a value a cut record lost in a NOT NULL column:
// a lost task status becomes "triage" so a person looks at the task.
func (w *writer) placeholder(table string, c outColumn) Value {
	switch {
	case table == "tasks" && c.name == "status":
		return Value{Kind: Text, Raw: []byte("triage")}
	case strings.HasSuffix(c.name, "_at"):
		return Value{Kind: Integer, Int: w.now.Unix()}
	case strings.Contains(c.typ, "INT"):
		return Value{Kind: Integer}
	}
	return Value{Kind: Text, Raw: []byte{}}
}

// text converts stored text to UTF-8 (boards are UTF-8; UTF-16 is handled
// for completeness) and drops a rune cut in half by a truncated payload.
func (w *writer) text(b []byte, partial bool) []byte {
	if w.img != nil && w.img.Encoding != 1 {
		u := make([]uint16, len(b)/2)
		for i := range u {
			if w.img.Encoding == 2 {
				u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
			} else {
				u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
			}
		}
		return []byte(string(utf16.Decode(u)))
	}
	if partial {
		for len(b) > 0 {
			r, size := utf8.DecodeLastRune(b)
			if r != utf8.RuneError || size > 1 {
				break
			}
			b = b[:len(b)-1]
		}
	}
	return b
}

// lostAndFound writes rows that fit no table (or that SQLite refused).
func (w *writer) lostAndFound() error {
	if len(w.lost) == 0 {
		return nil
	}
	if err := w.conn.Exec(`CREATE TABLE IF NOT EXISTS lost_and_found (id INTEGER PRIMARY KEY, source_page INTEGER, cell_index INTEGER, rowid INTEGER, ncol INTEGER, record_json TEXT)`); err != nil {
		return fmt.Errorf("create lost_and_found: %w", err)
	}
	st, _, err := w.conn.Prepare(`INSERT INTO lost_and_found (source_page, cell_index, rowid, ncol, record_json) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, l := range w.lost {
		_ = st.BindInt64(1, int64(l.page))
		_ = st.BindInt64(2, int64(l.cell))
		_ = st.BindInt64(3, l.rowid)
		_ = st.BindInt64(4, int64(len(l.values)))
		_ = st.BindText(5, recordJSON(l))
		if err := st.Exec(); err != nil {
			return fmt.Errorf("lost_and_found: %w", err)
		}
		w.st.lost++
	}
	return nil
}

// recordJSON renders a lost record as {"values": [...]} plus, for rows a
// table refused, the table and the reason. Blobs are {"blob": hex}.
func recordJSON(l lostEntry) string {
	vals := make([]any, len(l.values))
	for i, v := range l.values {
		switch v.Kind {
		case Blob:
			vals[i] = map[string]string{"blob": hex.EncodeToString(v.Raw)}
		case Float:
			if math.IsNaN(v.Real) || math.IsInf(v.Real, 0) {
				vals[i] = fmt.Sprint(v.Real)
			} else {
				vals[i] = v.Real
			}
		default:
			vals[i] = v.Any()
		}
	}
	doc := map[string]any{"values": vals}
	if l.table != "" {
		doc["table"], doc["reason"] = l.table, l.cause
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "{}"
	}
	return string(b)
}
