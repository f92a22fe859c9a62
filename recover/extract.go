package recover

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Row is one salvaged table row.
type Row struct {
	Rowid   int64
	Values  []Value // as stored: an INTEGER PRIMARY KEY column is NULL, see TableData.IPK
	Partial bool    // the overflow chain fell short; trailing columns are truncated
	Orphan  bool    // found on an unreachable page and re-homed by shape
	FromWAL bool    // the page came from a WAL frame
	Page    uint32
	Cell    int
}

// TableStats counts where a table's rows came from.
type TableStats struct {
	Rows            int `json:"rows"`
	FromTree        int `json:"from_tree"`
	FromOrphans     int `json:"from_orphan_pages"`
	FromWAL         int `json:"from_wal_pages"`
	Partial         int `json:"partial"`
	Duplicates      int `json:"duplicates_dropped"`
	UnreadablePages int `json:"pages_unreadable"`
	BadCells        int `json:"bad_cells"`
}

// TableData is one salvaged table: its old definition and its rows.
type TableData struct {
	Name    string
	Root    uint32 // 0 when the schema row was lost
	SQL     string
	Source  string // SchemaFromPage1, SchemaFromOrphans or SchemaBuiltin
	Columns []Column
	IPK     int   // index of the INTEGER PRIMARY KEY column, -1 if none
	PK      []int // primary key columns in key order; empty means rowid
	Rows    []Row
	Stats   TableStats

	keys map[string]bool
	// bad are the table's b-tree pages the walk could not read.
	bad []badRef
	// pkIndex names the index SQLite keeps for a primary key that is not
	// the rowid ("" without one).
	pkIndex string
	// width is how many fields a record in Columns order may have (0:
	// all of them); columns past it exist only for the other layouts.
	width int
	// layouts are other physical column orders records may be in (see
	// layout.go): field i of a record goes to column layouts[k][i].
	layouts [][]int
}

// LostRow is an orphan cell whose shape fits no table.
type LostRow struct {
	Page    uint32
	Cell    int
	Rowid   int64
	Values  []Value
	Partial bool
}

// Extraction is everything Extract found in an Image.
type Extraction struct {
	Schema          []SchemaEntry `json:"schema"`
	Tables          []*TableData  `json:"-"`
	LostAndFound    []LostRow     `json:"-"`
	OrphanPages     int           `json:"orphan_pages"`
	FreelistPages   int           `json:"freelist_pages"`
	UnreadablePages int           `json:"unreadable_pages"`
	Notes           []string      `json:"notes,omitempty"`
	// Loss is what the pages held that could not be read.
	Loss *Loss `json:"loss"`
}

// Table returns the named table, or nil.
func (e *Extraction) Table(name string) *TableData {
	for _, t := range e.Tables {
		if strings.EqualFold(t.Name, name) {
			return t
		}
	}
	return nil
}

// extractor carries the state of one extraction.
type extractor struct {
	ctx  context.Context
	img  *Image
	use  pageMap
	prog *progress
	ex   *Extraction

	// hand, when set, gets each table's tree rows in batches as the walk
	// adds them, then an end mark (see pipeline.go); batch collects the
	// next batch and handErr is the first error hand returned.
	hand    func(early) error
	batch   []Row
	handErr error

	witnesses     []*witness      // what each index says about its table's rows
	notData       map[uint32]bool // unreadable pages of the schema and of indexes
	schemaDamaged bool            // sqlite_schema's tree had unreadable pages
}

// Extract reads every table of img: schema from page 1 (or the orphan scan,
// or the canonical kanban schema), rows from each table b-tree, then rows on
// unreachable pages re-homed by shape. It does not fail on damage, only on
// cancellation or when it cannot set up its scratch schema database.
func Extract(ctx context.Context, img *Image) (*Extraction, error) {
	return extract(ctx, img, nil, nil)
}

// extract is Extract with progress and, when hand is not nil, tree rows
// handed over as they are read.
func extract(ctx context.Context, img *Image, prog *progress, hand func(early) error) (*Extraction, error) {
	x := &extractor{ctx: ctx, img: img, use: make(pageMap, int(img.NPages)+1), prog: prog, ex: &Extraction{},
		notData: map[uint32]bool{}, hand: hand}
	x.prog.start(int(img.NPages))
	x.ex.Schema = x.readSchema()
	tables, notes, err := buildTables(ctx, x.ex.Schema)
	if err != nil {
		return nil, err
	}
	x.ex.Tables, x.ex.Notes = tables, notes
	for _, t := range tables {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		x.walkTable(t)
		if err := x.handOver(t, true); err != nil {
			return nil, err
		}
	}
	x.walkIndexes()
	x.ex.FreelistPages = img.markFreelist(x.use)
	img.markReserved(x.use)
	if err := x.scanOrphans(); err != nil {
		return nil, err
	}
	x.finish()
	x.ex.Loss = x.loss()
	x.prog.done()
	return x.ex, nil
}

// walkTable collects the rows of t's b-tree.
func (x *extractor) walkTable(t *TableData) {
	if t.Root == 0 {
		return
	}
	st := x.walk(t.Root, true, func(p *btreePage) {
		if !p.IsLeaf() {
			return
		}
		rows, bad := x.tableCells(p)
		t.Stats.BadCells += bad
		for _, r := range rows {
			if len(r.Values) > len(t.Columns) {
				t.Stats.BadCells++
				continue
			}
			if t.add(r) && x.hand != nil {
				x.batch = append(x.batch, r)
			}
		}
		if len(x.batch) >= handBatch {
			_ = x.handOver(t, false) // an error stops the hand-off; the caller returns it
		}
	})
	t.Stats.UnreadablePages += st.unreadable + st.reused
	t.bad = append(t.bad, st.bad...)
	x.ex.UnreadablePages += st.unreadable
}

// handOver hands the rows batched for t to x.hand, with end after t's
// walk. The batch is the writer's from then on: a new one is started.
func (x *extractor) handOver(t *TableData, end bool) error {
	if x.hand == nil || x.handErr != nil {
		return x.handErr
	}
	x.handErr = x.hand(early{t: t, rows: x.batch, end: end})
	x.batch = nil
	return x.handErr
}

// add appends r unless a row with the same primary key is already there
// (the first one wins: tree rows are added before orphans).
func (t *TableData) add(r Row) bool {
	k := t.key(r)
	if t.keys[k] {
		t.Stats.Duplicates++
		return false
	}
	t.keys[k] = true
	t.Rows = append(t.Rows, r)
	return true
}

// finish computes the key columns once the columns are known. A single
// INTEGER primary key is the rowid alias (SQLite's rule); any other primary
// key is read from the record.
func (t *TableData) finish() {
	t.keys = map[string]bool{}
	t.IPK, t.PK = -1, nil
	type pk struct{ pos, col int }
	var pks []pk
	for i, c := range t.Columns {
		if c.PK > 0 {
			pks = append(pks, pk{c.PK, i})
		}
	}
	sort.Slice(pks, func(i, j int) bool { return pks[i].pos < pks[j].pos })
	if len(pks) == 1 && strings.EqualFold(t.Columns[pks[0].col].Type, "INTEGER") {
		t.IPK = pks[0].col
		return
	}
	for _, p := range pks {
		t.PK = append(t.PK, p.col)
	}
}

// key is the row's primary key as a string: the rowid for rowid-keyed
// tables, else the key columns joined with "|". A NULL key column makes the
// row unique (SQLite lets NULLs into a non-integer primary key).
func (t *TableData) key(r Row) string {
	if len(t.PK) == 0 {
		return "#" + strconv.FormatInt(r.Rowid, 10)
	}
	parts := make([]string, len(t.PK))
	for i, c := range t.PK {
		if c >= len(r.Values) || r.Values[c].Kind == Null {
			return "#" + strconv.FormatInt(r.Rowid, 10)
		}
		parts[i] = keyText(r.Values[c])
	}
	return strings.Join(parts, "|")
}

func keyText(v Value) string {
	switch v.Kind {
	case Integer:
		return strconv.FormatInt(v.Int, 10)
	case Float:
		return strconv.FormatFloat(v.Real, 'g', -1, 64)
	case Null:
		return ""
	}
	return string(v.Raw)
}

// finish sorts rows into rowid order and fills the per-table counts.
func (x *extractor) finish() {
	for _, t := range x.ex.Tables {
		sort.SliceStable(t.Rows, func(i, j int) bool { return t.Rows[i].Rowid < t.Rows[j].Rowid })
		t.Stats.Rows = len(t.Rows)
		for _, r := range t.Rows {
			if r.Orphan {
				t.Stats.FromOrphans++
			} else {
				t.Stats.FromTree++
			}
			if r.FromWAL {
				t.Stats.FromWAL++
			}
			if r.Partial {
				t.Stats.Partial++
			}
		}
	}
	if n := len(x.ex.LostAndFound); n > 0 {
		x.ex.Notes = append(x.ex.Notes, fmt.Sprintf("%d orphan rows fit no table", n))
	}
}
