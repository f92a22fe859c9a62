package recover

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/migrate"
)

// maxDiffKeys caps the keys listed per table and category.
const maxDiffKeys = 100

// Side sources reported in a DiffReport.
const (
	ReadBySQLite  = "sqlite"
	ReadBySalvage = "salvage"
)

// DiffReport compares two boards table by table, by primary key.
type DiffReport struct {
	Old       string      `json:"old"`
	New       string      `json:"new"`
	OldReadBy string      `json:"old_read_by"` // sqlite, or salvage when SQLite could not read it
	NewReadBy string      `json:"new_read_by"`
	Tables    []TableDiff `json:"tables"`
	// OldLoss is, for an old board read by the salvager, what it held
	// that no readable page gives back and the new board lacks too: rows
	// the comparison cannot see. NewLoss is the same for a salvaged new
	// board. nil for a side SQLite read.
	OldLoss *Loss `json:"old_loss,omitempty"`
	NewLoss *Loss `json:"new_loss,omitempty"`
}

// TableDiff is one table's differences; the key lists hold at most 100.
type TableDiff struct {
	Table       string   `json:"table"`
	OnlyOld     int      `json:"only_old"`
	OnlyNew     int      `json:"only_new"`
	Changed     int      `json:"changed"`
	Same        int      `json:"same"`
	OnlyOldKeys []string `json:"only_old_keys,omitempty"`
	OnlyNewKeys []string `json:"only_new_keys,omitempty"`
	ChangedKeys []string `json:"changed_keys,omitempty"`
}

// Equal reports whether the boards hold the same readable rows; see
// OldLoss and NewLoss for the rows neither side could read.
func (r *DiffReport) Equal() bool {
	for _, t := range r.Tables {
		if t.OnlyOld+t.OnlyNew+t.Changed > 0 {
			return false
		}
	}
	return true
}

// Text prints one line per table: "tasks: 3 only-old, 0 only-new, 1 changed, 447 same".
func (r *DiffReport) Text(w io.Writer) {
	for _, t := range r.Tables {
		fmt.Fprintf(w, "%s: %d only-old, %d only-new, %d changed, %d same\n", t.Table, t.OnlyOld, t.OnlyNew, t.Changed, t.Same)
	}
}

// sideTable is one table of one side: rows keyed by primary key, each row
// a column-name → comparable value map.
type sideTable map[string]map[string]string

// Diff compares the boards at oldPath and newPath. Each side is read from a
// scratch copy with SQLite when it opens and passes quick_check, else with
// the salvager's extractor, so a damaged board can still be compared with
// its salvaged copy.
func Diff(ctx context.Context, oldPath, newPath string) (*DiffReport, error) {
	oldT, oldBy, oldLoss, err := readSide(ctx, oldPath)
	if err != nil {
		return nil, fmt.Errorf("diff: old: %w", err)
	}
	newT, newBy, newLoss, err := readSide(ctx, newPath)
	if err != nil {
		return nil, fmt.Errorf("diff: new: %w", err)
	}
	r := &DiffReport{Old: oldPath, New: newPath, OldReadBy: oldBy, NewReadBy: newBy, NewLoss: newLoss}
	r.OldLoss = oldLoss.Without(func(table, key string) bool { _, ok := newT[table][key]; return ok })
	for _, name := range tableNames(oldT, newT) {
		r.Tables = append(r.Tables, diffTable(name, oldT[name], newT[name]))
	}
	return r, nil
}

// tableNames lists the core tables, then any other table either side has.
func tableNames(a, b map[string]sideTable) []string {
	out := append([]string{}, migrate.CoreTables...)
	seen := map[string]bool{}
	for _, t := range out {
		seen[t] = true
	}
	var extra []string
	for _, m := range []map[string]sideTable{a, b} {
		for t := range m {
			if !seen[t] {
				seen[t] = true
				extra = append(extra, t)
			}
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}

func diffTable(name string, a, b sideTable) TableDiff {
	d := TableDiff{Table: name}
	for _, k := range sortedKeys(a) {
		nb, ok := b[k]
		switch {
		case !ok:
			d.OnlyOld++
			d.OnlyOldKeys = appendCapped(d.OnlyOldKeys, k)
		case !sameRow(a[k], nb):
			d.Changed++
			d.ChangedKeys = appendCapped(d.ChangedKeys, k)
		default:
			d.Same++
		}
	}
	for _, k := range sortedKeys(b) {
		if _, ok := a[k]; !ok {
			d.OnlyNew++
			d.OnlyNewKeys = appendCapped(d.OnlyNewKeys, k)
		}
	}
	return d
}

func appendCapped(l []string, k string) []string {
	if len(l) < maxDiffKeys {
		l = append(l, k)
	}
	return l
}

func sortedKeys(t sideTable) []string {
	out := make([]string, 0, len(t))
	for k := range t {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sameRow compares two rows over the union of their columns; a column one
// side lacks counts as NULL there.
func sameRow(a, b map[string]string) bool {
	for c, v := range a {
		if b[c] != v {
			return false
		}
	}
	for c, v := range b {
		if _, ok := a[c]; !ok && v != "" {
			return false
		}
	}
	return true
}

// cmpValue renders a value so equal SQLite values compare equal; NULL is "".
func cmpValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case int64:
		return "i" + strconv.FormatInt(x, 10)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return "f" + strconv.FormatFloat(x, 'f', 1, 64)
		}
		return "f" + strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return "t" + x
	case []byte:
		return "b" + string(x)
	}
	return fmt.Sprint(v)
}

// readSide loads every table of the board at path, and what it lost when
// the salvager had to read it.
func readSide(ctx context.Context, path string) (map[string]sideTable, string, *Loss, error) {
	sc, err := copyBoard(ctx, path)
	if err != nil {
		return nil, "", nil, err
	}
	defer sc.Close()
	if sc.Empty == nil { // SQLite would delete the sidecar and see no board
		if tables, ok, err := readBySQLite(ctx, sc.DB); err != nil || ok {
			return tables, ReadBySQLite, nil, err
		}
	}
	img, err := Load(ctx, sc.DB)
	if err != nil {
		return nil, "", nil, err
	}
	ex, err := Extract(ctx, img)
	if err != nil {
		return nil, "", nil, err
	}
	return fromExtraction(ex), ReadBySalvage, ex.Loss, nil
}

// readBySQLite reads the copy with SQLite if quick_check passes; ok is false
// when it does not (or SQLite reports corruption), so the caller salvages.
func readBySQLite(ctx context.Context, db string) (map[string]sideTable, bool, error) {
	c, err := sqlite3.Open(db)
	if err != nil {
		return nil, false, nil
	}
	defer c.Close()
	rows, err := sqlx.QueryStrings(c, "PRAGMA quick_check")
	if err != nil || len(rows) != 1 || rows[0] != "ok" {
		return nil, false, nil
	}
	insp, err := migrate.Inspect(ctx, c)
	if err != nil {
		return nil, false, nil
	}
	out := map[string]sideTable{}
	for name, cols := range insp.Tables {
		if strings.HasPrefix(name, "sqlite_") || name == "lost_and_found" {
			continue
		}
		t, err := readTable(c, name, cols)
		if err != nil {
			return nil, false, nil
		}
		out[name] = t
	}
	return out, true, nil
}

func readTable(c *sqlite3.Conn, name string, cols []migrate.ColumnInfo) (sideTable, error) {
	td := &TableData{Name: name, Columns: fromInfo(cols)}
	td.finish()
	t := sideTable{}
	err := sqlx.Query(c, "SELECT rowid AS \"_kr_rowid\", * FROM "+sqlx.QuoteIdent(name), nil, func(r *sqlx.Row) error {
		row := map[string]string{}
		for _, col := range td.Columns {
			row[strings.ToLower(col.Name)] = cmpValue(r.Value(col.Name))
		}
		t[diffKey(td, r.Int("_kr_rowid"), func(i int) any { return r.Value(td.Columns[i].Name) })] = row
		return nil
	})
	return t, err
}

// diffKey formats a row's key: the primary key values joined with "|" (the
// rowid alias for INTEGER PRIMARY KEY tables), or "#rowid" without one.
func diffKey(t *TableData, rowid int64, val func(i int) any) string {
	if t.IPK >= 0 {
		return strconv.FormatInt(rowid, 10)
	}
	if len(t.PK) == 0 {
		return "#" + strconv.FormatInt(rowid, 10)
	}
	parts := make([]string, len(t.PK))
	for i, c := range t.PK {
		parts[i] = fmt.Sprint(val(c))
	}
	return strings.Join(parts, "|")
}

// fromExtraction turns salvaged tables into diff sides.
func fromExtraction(ex *Extraction) map[string]sideTable {
	out := map[string]sideTable{}
	for _, td := range ex.Tables {
		if strings.HasPrefix(td.Name, "sqlite_") {
			continue
		}
		t := sideTable{}
		for _, r := range td.Rows {
			val := func(i int) any {
				if i == td.IPK {
					return r.Rowid
				}
				if i < len(r.Values) {
					return r.Values[i].Any()
				}
				return defaultValue(td.Columns[i]) // a row older than ADD COLUMN
			}
			row := map[string]string{}
			for i, col := range td.Columns {
				row[strings.ToLower(col.Name)] = cmpValue(val(i))
			}
			t[diffKey(td, r.Rowid, val)] = row
		}
		out[td.Name] = t
	}
	return out
}

// defaultValue evaluates the literal DEFAULTs ADD COLUMN allows (numbers and
// quoted strings); anything else reads as NULL.
func defaultValue(c Column) any {
	if c.Default == nil {
		return nil
	}
	d := strings.TrimSpace(*c.Default)
	if i, err := strconv.ParseInt(d, 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(d, 64); err == nil {
		return f
	}
	if len(d) >= 2 && d[0] == '\'' && d[len(d)-1] == '\'' {
		return strings.ReplaceAll(d[1:len(d)-1], "''", "'")
	}
	return nil
}
