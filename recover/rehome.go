package recover

import (
	"regexp"
	"strings"
)

// Shape rules for kanban rows. They only need to tell the board's tables
// apart, and to keep garbage out of them.
var (
	taskIDPattern = regexp.MustCompile(`^t_[0-9a-f]{8,}$`)
	wordPattern   = regexp.MustCompile(`^[a-z][a-z0-9_+\-]*$`)
)

// Epoch seconds a board timestamp can plausibly hold (2017..2096).
const (
	minEpoch = 1_500_000_000
	maxEpoch = 4_000_000_000
)

// minColumns is the fewest fields a record of a kanban table can have: rows
// written before later ALTER TABLE … ADD COLUMN steps are shorter.
var minColumns = map[string]int{
	"tasks": 14, "task_comments": 5, "task_events": 5, "task_runs": 12,
	"task_attachments": 8, "kanban_notify_subs": 7, "task_links": 2,
	"recipe_instances": 13, "recipe_instance_tasks": 3, "sqlite_sequence": 2,
}

// idColumns hold task ids.
var idColumns = map[string]bool{"task_id": true, "parent_id": true, "child_id": true}

// wordColumns hold lowercase enum-like words.
var wordColumns = map[string]bool{
	"kind": true, "status": true, "outcome": true, "platform": true,
	"workspace_kind": true, "delivery_mode": true,
}

// scanOrphans reads every page no tree, chain, freelist or reserved use
// claimed, takes the rows of those that parse as table leaves, and hands
// each page's rows to rehome. Interior and index pages are left alone: their
// content is pointers or index keys, which are rebuilt.
func (x *extractor) scanOrphans() error {
	for pg := uint32(1); pg <= x.img.NPages; pg++ {
		if pg%1024 == 0 {
			if err := x.ctx.Err(); err != nil {
				return err
			}
		}
		if x.use.get(pg) != useUnknown {
			continue
		}
		x.prog.tick()
		p, err := x.img.btree(pg)
		if err != nil || p.Type != typeTableLeaf {
			continue
		}
		x.use.set(pg, useOrphan)
		x.ex.OrphanPages++
		rows, _ := x.tableCells(p)
		x.rehome(rows)
	}
	return nil
}

// rehome assigns one orphan page's rows. A leaf holds the cells of exactly
// one table, so the page votes: the table most of its rows fit wins, and
// each row that fits it goes there; a row that does not fit goes to its own
// best table, or to lost_and_found.
func (x *extractor) rehome(rows []Row) {
	if len(rows) == 0 {
		return
	}
	fits := make([][]int, len(rows)) // fits[i][j]: score of row i in table j, <= 0 no fit
	lays := make([][]int, len(rows)) // lays[i][j]: the layout of that fit
	votes := make([]int, len(x.ex.Tables))
	for i, r := range rows {
		fits[i], lays[i] = make([]int, len(x.ex.Tables)), make([]int, len(x.ex.Tables))
		for j, t := range x.ex.Tables {
			if s, l, ok := t.bestFit(r.Values, x.ex.Tables); ok && s > 0 {
				fits[i][j], lays[i][j] = s, l
				votes[j] += 1000 + s
			}
		}
	}
	page := argmax(votes)
	for i, r := range rows {
		r.Orphan = true
		j := page
		if j < 0 || fits[i][j] <= 0 {
			j = argmax(fits[i])
		}
		if j < 0 {
			x.ex.LostAndFound = append(x.ex.LostAndFound, LostRow{Page: r.Page, Cell: r.Cell, Rowid: r.Rowid, Values: r.Values, Partial: r.Partial})
			continue
		}
		x.ex.Tables[j].add(x.ex.Tables[j].arrange(r, lays[i][j]))
	}
}

// argmax returns the index of the largest positive element, or -1; a tie
// between two tables means the shape does not decide, which also gives -1.
func argmax(v []int) int {
	best, bestV, tie := -1, 0, false
	for i, x := range v {
		switch {
		case x > bestV:
			best, bestV, tie = i, x, false
		case x == bestV && x > 0:
			tie = true
		}
	}
	if tie {
		return -1
	}
	return best
}

// fit scores how well a record's fields match t's columns, read in t's own
// order (layout nil) or in layout. ok is false on a hard mismatch: too many
// or too few fields, a NULL in a NOT NULL column, a non-NULL INTEGER
// PRIMARY KEY field, or a number in a TEXT column (SQLite would have stored
// it as text).
func (t *TableData) fit(vals []Value, all []*TableData, layout []int) (score int, ok bool) {
	n, width := len(vals), len(t.Columns)
	switch {
	case layout != nil:
		width = len(layout)
	case t.width > 0:
		width = t.width
	}
	lo, known := minColumns[t.Name]
	if !known {
		lo = width
	}
	if n > width || n < min(lo, width) || n == 0 {
		return 0, false
	}
	if n == width {
		score += 3
	}
	for i, v := range vals {
		col := i
		if layout != nil {
			col = layout[i]
		}
		s, ok := t.columnFit(col, v, all)
		if !ok {
			return 0, false
		}
		score += s
	}
	return score, true
}

// columnFit scores one field against column i.
func (t *TableData) columnFit(i int, v Value, all []*TableData) (int, bool) {
	c := t.Columns[i]
	if i == t.IPK {
		return 2, v.Kind == Null
	}
	if v.Kind == Null {
		return 0, !c.NotNull
	}
	s, ok := affinityFit(c.Type, v)
	if !ok {
		return 0, false
	}
	return s + nameFit(t, strings.ToLower(c.Name), v, all), true
}

// affinityFit applies SQLite's column affinity rules (datatype3 §3.1).
func affinityFit(decl string, v Value) (int, bool) {
	d := strings.ToUpper(decl)
	switch {
	case strings.Contains(d, "INT"):
		return map[Kind]int{Integer: 1, Float: 0, Text: -2, Blob: -1}[v.Kind], true
	case strings.Contains(d, "CHAR"), strings.Contains(d, "CLOB"), strings.Contains(d, "TEXT"):
		return map[Kind]int{Text: 1, Blob: 0}[v.Kind], v.Kind == Text || v.Kind == Blob
	case strings.Contains(d, "REAL"), strings.Contains(d, "FLOA"), strings.Contains(d, "DOUB"):
		return map[Kind]int{Integer: 1, Float: 1, Text: -2}[v.Kind], true
	}
	return 0, true
}

// nameFit adds the kanban-specific evidence carried by column names.
func nameFit(t *TableData, name string, v Value, all []*TableData) int {
	switch {
	case idColumns[name] || (name == "id" && t.Name == "tasks"):
		if v.Kind == Text && taskIDPattern.Match(v.Raw) {
			return 3
		}
		return -3
	case wordColumns[name]:
		if v.Kind == Text && wordPattern.Match(v.Raw) {
			return 1
		}
		return -1
	case strings.HasSuffix(name, "_at") || name == "claim_expires":
		if v.Kind == Integer && v.Int >= minEpoch && v.Int <= maxEpoch {
			return 2
		}
		return -2
	case t.Name == "sqlite_sequence" && name == "name":
		for _, o := range all {
			if v.Kind == Text && o.Name == string(v.Raw) {
				return 3
			}
		}
		return -3
	}
	return 0
}
