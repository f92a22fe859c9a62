package recover

import (
	"sort"
	"strconv"
	"strings"

	"github.com/kanbanshim/kanbanshim/migrate"
)

// minCellBytes is the least room a row takes on a page (its cell pointer
// and the smallest cell): it bounds the rows a file can hold, to reject
// rowid spans only garbage keys could give.
const minCellBytes = 6

// loss works out what the extraction could not bring back; see Loss. It
// runs after the orphan scan, so rows re-homed from unreachable pages
// count as recovered, and their pages as read.
func (x *extractor) loss() *Loss {
	l := &Loss{Tables: []TableLoss{}, WALCommitsLost: x.img.WAL.LostCommits}
	attributed := map[uint32]bool{}
	for _, t := range x.ex.Tables {
		for _, b := range t.bad {
			attributed[b.page] = true
		}
	}
	for pg := uint32(1); pg <= x.img.NPages; pg++ {
		if x.use.get(pg) != useUnknown || attributed[pg] || x.notData[pg] {
			continue
		}
		if _, err := x.img.btree(pg); err != nil {
			l.Unattributed = append(l.Unattributed, pg)
		}
	}
	var refs map[string]map[string]*refKey // read once, and only for a damaged table
	l.Exact = true
	for _, t := range x.ex.Tables {
		if t.Name == "sqlite_sequence" {
			continue
		}
		tl, damaged := x.tableLoss(t, len(l.Unattributed) > 0, func() map[string]*refKey {
			if refs == nil {
				refs = x.references()
			}
			return refs[strings.ToLower(t.Name)]
		})
		if !damaged {
			continue
		}
		if !tl.Exact && (tl.lossy() || len(l.Unattributed) > 0) {
			l.Exact = false
		}
		if tl.PagesUnreadable+tl.BadCells+len(tl.Missing) > 0 {
			l.Tables = append(l.Tables, tl)
		}
	}
	l.Exact = l.Exact && l.WALCommitsLost == 0
	l.total()
	return l
}

// tableLoss is t's part of the loss. Evidence is weighed only for a
// table that shows damage (an unreadable page or cell, a lost schema row,
// or unreadable pages no table reaches): on a healthy table a dangling
// reference is the board's own inconsistency, not loss.
func (x *extractor) tableLoss(t *TableData, unattributed bool, refsTo func() map[string]*refKey) (TableLoss, bool) {
	tl := TableLoss{Table: t.Name, KeyColumns: t.keyColumns(), BadCells: t.Stats.BadCells, Pages: []uint32{}}
	for _, b := range t.bad {
		switch {
		case b.page == 0:
		case b.page > x.img.NPages || x.use.get(b.page) == useUnknown:
			tl.Pages = append(tl.Pages, b.page)
		default:
			continue // read after all, as another tree's page or an orphan
		}
		tl.PagesUnreadable++
	}
	sort.Slice(tl.Pages, func(i, j int) bool { return tl.Pages[i] < tl.Pages[j] })
	if tl.PagesUnreadable+tl.BadCells == 0 && !unattributed && (t.Root != 0 || !x.schemaDamaged) {
		return tl, false
	}
	present := t.rowids()
	ms := newMissingSet(t)
	var full *witness
	for _, w := range x.witnesses {
		if !strings.EqualFold(w.table, t.Name) {
			continue
		}
		w.read(x)
		for i, r := range w.rowids {
			if !present.has(r) {
				var key []Value
				if w.pk {
					key = w.keys[i]
				}
				ms.add(&r, key, "index "+w.index)
			}
		}
		if w.complete && (full == nil || (w.pk && !full.pk)) {
			full = w
		}
	}
	keys, refs := t.keySet(), refsTo()
	for _, k := range sortedRefKeys(refs) {
		if !keys[k] {
			ms.addRef(refs[k])
		}
	}
	if full != nil {
		tl.Exact, tl.Index = true, full.index
		if full.pk || t.IPK >= 0 {
			ms.dropUnwitnessed() // a key a complete key index lacks never existed
		}
	}
	tl.Missing = ms.sorted()
	if !tl.Exact {
		tl.MaxRowsLost = x.maxLost(t, present, tl.PagesUnreadable)
	}
	return tl, true
}

// maxLost bounds the rows lost on t's unreadable pages by the rowid spans
// their parents gave them: every rowid a span covers that no recovered row
// holds may have been a row (or a deleted one). nil when a span is open
// (the root itself was lost, or the right edge of a table without
// AUTOINCREMENT) or wider than the file could hold.
func (x *extractor) maxLost(t *TableData, present rowidSet, unreadable int) *int64 {
	if unreadable == 0 && t.Stats.BadCells == 0 {
		return nil
	}
	seq, hasSeq := x.sequence(t.Name)
	limit := int64(x.img.NPages) * int64(x.img.Usable()/minCellBytes)
	total := int64(t.Stats.BadCells)
	for _, b := range t.bad {
		if b.page != 0 && b.page <= x.img.NPages && x.use.get(b.page) != useUnknown {
			continue
		}
		lo, hi := b.span.lo, b.span.hi
		if !b.span.loKnown {
			lo = 0 // automatic rowids start at 1; kanban never picks its own
		}
		if !b.span.hiKnown {
			if !hasSeq {
				return nil
			}
			hi = seq
		}
		if hi < lo || uint64(hi)-uint64(lo) > uint64(limit) {
			return nil
		}
		total += int64(uint64(hi)-uint64(lo)) - present.countIn(lo, hi)
	}
	return &total
}

// sequence is t's AUTOINCREMENT high-water mark from sqlite_sequence.
func (x *extractor) sequence(table string) (int64, bool) {
	seq := x.ex.Table("sqlite_sequence")
	if seq == nil {
		return 0, false
	}
	for _, r := range seq.Rows {
		if len(r.Values) == 2 && r.Values[0].Kind == Text && strings.EqualFold(string(r.Values[0].Raw), table) && r.Values[1].Kind == Integer {
			return r.Values[1].Int, true
		}
	}
	return 0, false
}

// refKey is one key other rows refer to, and which columns do.
type refKey struct {
	val  Value
	from []string
}

// references collects, per target table, every key the readable rows of
// other tables refer to (migrate.References).
func (x *extractor) references() map[string]map[string]*refKey {
	out := map[string]map[string]*refKey{}
	for _, ref := range migrate.References {
		src := x.ex.Table(ref.Table)
		if src == nil {
			continue
		}
		col := src.columnIndex(ref.Column)
		if col < 0 {
			continue
		}
		target := strings.ToLower(ref.Target)
		if out[target] == nil {
			out[target] = map[string]*refKey{}
		}
		from := ref.Table + "." + ref.Column
		for _, r := range src.Rows {
			if col >= len(r.Values) || r.Values[col].Kind == Null {
				continue
			}
			v := r.Values[col]
			k := keyText(v)
			rk := out[target][k]
			if rk == nil {
				rk = &refKey{val: v}
				out[target][k] = rk
			}
			if len(rk.from) == 0 || rk.from[len(rk.from)-1] != from {
				rk.from = append(rk.from, from)
			}
		}
	}
	return out
}

func sortedRefKeys(m map[string]*refKey) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// keyColumns names t's key: the INTEGER PRIMARY KEY, the primary key
// columns, or "rowid".
func (t *TableData) keyColumns() []string {
	switch {
	case t.IPK >= 0:
		return []string{t.Columns[t.IPK].Name}
	case len(t.PK) > 0:
		out := make([]string, len(t.PK))
		for i, c := range t.PK {
			out[i] = t.Columns[c].Name
		}
		return out
	}
	return []string{"rowid"}
}

// keySet holds the single-column keys of t's rows as keyText gives them
// (the rowid for an INTEGER PRIMARY KEY), which is what references name.
func (t *TableData) keySet() map[string]bool {
	out := make(map[string]bool, len(t.Rows))
	for _, r := range t.Rows {
		switch {
		case t.IPK >= 0:
			out[strconv.FormatInt(r.Rowid, 10)] = true
		case len(t.PK) == 1 && t.PK[0] < len(r.Values):
			out[keyText(r.Values[t.PK[0]])] = true
		}
	}
	return out
}

// rowidSet is the sorted rowids of a table's recovered rows.
type rowidSet []int64

// rowids returns t's rowids; Rows is in rowid order once extracted.
func (t *TableData) rowids() rowidSet {
	out := make(rowidSet, len(t.Rows))
	for i, r := range t.Rows {
		out[i] = r.Rowid
	}
	return out
}

func (s rowidSet) has(r int64) bool {
	i := sort.Search(len(s), func(i int) bool { return s[i] >= r })
	return i < len(s) && s[i] == r
}

// countIn counts the rowids in (lo, hi].
func (s rowidSet) countIn(lo, hi int64) int64 {
	a := sort.Search(len(s), func(i int) bool { return s[i] > lo })
	b := sort.Search(len(s), func(i int) bool { return s[i] > hi })
	return int64(b - a)
}

// missingSet gathers the rows evidence names, merging what one row's
// index entries and references say.
type missingSet struct {
	t       *TableData
	rows    []*MissingRow
	byKey   map[string]*MissingRow
	byRowid map[int64]*MissingRow
}

func newMissingSet(t *TableData) *missingSet {
	return &missingSet{t: t, byKey: map[string]*MissingRow{}, byRowid: map[int64]*MissingRow{}}
}

// add records a row named by rowid and, when the evidence has it, by key.
func (s *missingSet) add(rowid *int64, key []Value, evidence string) {
	if s.t.IPK >= 0 && key == nil && rowid != nil {
		key = []Value{{Kind: Integer, Int: *rowid}}
	}
	var m *MissingRow
	var kt string
	if key != nil {
		kt = keyTextOf(key)
		m = s.byKey[kt]
	}
	if m == nil && rowid != nil {
		m = s.byRowid[*rowid]
	}
	if m == nil {
		m = &MissingRow{}
		s.rows = append(s.rows, m)
	}
	if m.Rowid == nil && rowid != nil {
		r := *rowid
		m.Rowid = &r
		s.byRowid[r] = m
	}
	if m.Key == nil && key != nil {
		m.Key = make([]any, len(key))
		for i, v := range key {
			m.Key[i] = v.Any()
		}
		s.byKey[kt] = m
	}
	for _, e := range m.Evidence {
		if e == evidence {
			return
		}
	}
	m.Evidence = append(m.Evidence, evidence)
}

// addRef records a row named by references.
func (s *missingSet) addRef(rk *refKey) {
	var rowid *int64
	if s.t.IPK >= 0 {
		if rk.val.Kind != Integer {
			return
		}
		rowid = &rk.val.Int
	}
	for _, f := range rk.from {
		s.add(rowid, []Value{rk.val}, f)
	}
}

// dropUnwitnessed removes rows only references named: with a complete
// index of the key, a key it does not list was never in the table.
func (s *missingSet) dropUnwitnessed() {
	kept := s.rows[:0]
	for _, m := range s.rows {
		for _, e := range m.Evidence {
			if strings.HasPrefix(e, "index ") {
				kept = append(kept, m)
				break
			}
		}
	}
	s.rows = kept
}

func (s *missingSet) sorted() []MissingRow {
	out := make([]MissingRow, len(s.rows))
	for i, m := range s.rows {
		out[i] = *m
	}
	sortMissing(out, s.t.IPK >= 0 || len(s.t.PK) == 0)
	return out
}

func keyTextOf(vs []Value) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = keyText(v)
	}
	return strings.Join(parts, "|")
}
