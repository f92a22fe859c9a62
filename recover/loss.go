package recover

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// maxKeysText caps the keys a text report lists per table; JSON has all.
const maxKeysText = 20

// Loss is what a damaged board held that the salvage could not read, as
// far as the board itself can tell. Salvage returns it with its report,
// Diff with each side it had to salvage, and Auto with the repair; a
// repair from a snapshot restores exactly the rows it lists.
//
// Two kinds of evidence name lost rows: an index b-tree that still lists a
// row's rowid (and, for a primary-key index, its key), and a row of another
// table that still refers to it (migrate.References: an event naming its
// task). Both are facts about the board, so the rows they name are known to
// be lost. When an index of the table was read without a single unreadable
// page or cell, it names every row the table held and the count is exact;
// otherwise it is a lower bound, and the rowid ranges of the unreadable
// pages (from the interior pages that point at them) give an upper bound,
// reported as an estimate.
type Loss struct {
	// Exact is true when every count is exact: each damaged table had a
	// complete index, and no unreadable page is left unexplained.
	Exact bool `json:"exact"`
	// RowsLost is the rows known lost, all tables together (a lower bound
	// unless Exact).
	RowsLost int `json:"rows_lost"`
	// TasksLost and TaskIDs repeat the tasks table's part, for scripts:
	// TaskIDs are the lost tasks whose id is known, all of them.
	TasksLost int      `json:"tasks_lost"`
	TaskIDs   []string `json:"task_ids"`
	// PagesUnreadable counts the pages that could not be read: the tables'
	// and the unattributed ones. Pages whose rows were found elsewhere (an
	// unreachable leaf re-homed by the shape of its records) count as read.
	PagesUnreadable int `json:"pages_unreadable"`
	// Unattributed ("stray" in text) are pages no b-tree reaches that do
	// not read as b-tree pages: pages below a lost interior page, or
	// overflow pages of lost rows.
	Unattributed []uint32 `json:"unattributed_pages,omitempty"`
	// WALCommitsLost counts committed transactions in the -wal that come
	// after a frame failing its checksum: SQLite's rule (and the
	// salvage's) stops at that frame, so what they wrote is not in the
	// result, and no page says which rows that was.
	WALCommitsLost int         `json:"wal_commits_lost"`
	Tables         []TableLoss `json:"tables"`
}

// TableLoss is one table's part of a Loss.
type TableLoss struct {
	Table string `json:"table"`
	// KeyColumns name the values of MissingRow.Key: the primary key, the
	// INTEGER PRIMARY KEY alias, or "rowid" for a table without either.
	KeyColumns []string `json:"key_columns"`
	// Pages are the table's b-tree pages that could not be read;
	// PagesUnreadable also counts pointers that name no page at all.
	Pages           []uint32 `json:"unreadable_pages"`
	PagesUnreadable int      `json:"pages_unreadable"`
	// BadCells are cells on readable pages that did not decode: rows lost
	// whose key the page no longer tells.
	BadCells int `json:"bad_cells"`
	// RowsLost is how many rows are known lost: exactly when Exact, else at
	// least. Missing lists them; a row may be known by key, by rowid or by
	// both, and the count never counts one row twice.
	RowsLost int          `json:"rows_lost"`
	Exact    bool         `json:"exact"`
	Index    string       `json:"complete_index,omitempty"` // the index that makes the count exact
	Missing  []MissingRow `json:"missing"`
	// MaxRowsLost is an estimate, given when the count is not exact and
	// every unreadable page's rowid range is known: at most this many rows
	// were lost (rowids a range spans that no recovered row holds; deleted
	// rows leave such gaps too).
	MaxRowsLost *int64 `json:"max_rows_lost,omitempty"`
}

// MissingRow is one row known lost.
type MissingRow struct {
	// Key holds the primary key values, in KeyColumns order (string,
	// int64, float64 or []byte); nil when only the rowid is known.
	Key []any `json:"key,omitempty"`
	// Rowid is the row's rowid when an index named it; nil when only a
	// reference named the row.
	Rowid *int64 `json:"rowid,omitempty"`
	// Evidence says who named the row: "index idx_x" or "table.column".
	Evidence []string `json:"evidence"`
}

// KeyText is the key as diff prints it (values joined with "|"), or
// "rowid N" when only the rowid is known.
func (m MissingRow) KeyText() string {
	if m.Key == nil {
		if m.Rowid == nil {
			return "?"
		}
		return "rowid " + strconv.FormatInt(*m.Rowid, 10)
	}
	parts := make([]string, len(m.Key))
	for i, v := range m.Key {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, "|")
}

// Table returns the named table's loss, or nil.
func (l *Loss) Table(name string) *TableLoss {
	if l == nil {
		return nil
	}
	for i := range l.Tables {
		if l.Tables[i].Table == name {
			return &l.Tables[i]
		}
	}
	return nil
}

// Empty reports whether nothing at all was unreadable.
func (l *Loss) Empty() bool {
	if l == nil {
		return true
	}
	for _, t := range l.Tables {
		if t.PagesUnreadable+t.BadCells+len(t.Missing) > 0 {
			return false
		}
	}
	return len(l.Unattributed) == 0 && l.WALCommitsLost == 0
}

// Lossy reports whether rows were, or may have been, lost: rows are known
// lost, or pages or cells are unreadable and no complete index rules out
// that they held rows. An unreadable interior page whose leaves were all
// found again is not a loss.
func (l *Loss) Lossy() bool {
	if l == nil {
		return false
	}
	for _, t := range l.Tables {
		if t.lossy() {
			return true
		}
	}
	return (len(l.Unattributed) > 0 && !l.Exact) || l.WALCommitsLost > 0
}

func (t *TableLoss) lossy() bool {
	return t.RowsLost > 0 || (!t.Exact && t.PagesUnreadable+t.BadCells > 0)
}

// total recomputes the counts from the tables' missing rows (Exact is
// the scan's to decide).
func (l *Loss) total() {
	l.RowsLost, l.TasksLost, l.TaskIDs, l.PagesUnreadable = 0, 0, []string{}, len(l.Unattributed)
	for i := range l.Tables {
		t := &l.Tables[i]
		t.RowsLost = countLost(t.Missing, t.Exact)
		if t.MaxRowsLost != nil && *t.MaxRowsLost < int64(t.RowsLost) {
			n := int64(t.RowsLost)
			t.MaxRowsLost = &n
		}
		l.RowsLost += t.RowsLost
		l.PagesUnreadable += t.PagesUnreadable
		if t.Table != "tasks" {
			continue
		}
		l.TasksLost = t.RowsLost
		for _, m := range t.Missing {
			if len(m.Key) == 1 {
				l.TaskIDs = append(l.TaskIDs, fmt.Sprint(m.Key[0]))
			}
		}
	}
}

// countLost counts the rows of a missing list without counting one row
// twice: a row known only by key (a reference) and one known only by
// rowid (an index without the key) may be the same row. When the count is
// exact, a complete index named every lost row, by rowid.
func countLost(ms []MissingRow, exact bool) int {
	if exact {
		n := 0
		for _, m := range ms {
			if m.Rowid != nil {
				n++
			}
		}
		return n
	}
	both, keyOnly, rowidOnly := 0, 0, 0
	for _, m := range ms {
		switch {
		case m.Key != nil && m.Rowid != nil:
			both++
		case m.Key != nil:
			keyOnly++
		default:
			rowidOnly++
		}
	}
	return both + max(keyOnly, rowidOnly)
}

// keyed reports whether any row is known lost by its key (what a
// snapshot can restore).
func (l *Loss) keyed() bool {
	if l == nil {
		return false
	}
	for _, t := range l.Tables {
		for _, m := range t.Missing {
			if m.Key != nil {
				return true
			}
		}
	}
	return false
}

// Without returns a copy of l without the rows has says are there after
// all (a diff drops the rows the other board holds). has gets the table
// and the row's KeyText.
func (l *Loss) Without(has func(table, key string) bool) *Loss {
	if l == nil {
		return nil
	}
	out := *l
	out.Tables = make([]TableLoss, len(l.Tables))
	for i, t := range l.Tables {
		t.Missing = nil
		for _, m := range l.Tables[i].Missing {
			if m.Key == nil || !has(t.Table, m.KeyText()) {
				t.Missing = append(t.Missing, m)
			}
		}
		if t.Missing == nil {
			t.Missing = []MissingRow{}
		}
		out.Tables[i] = t
	}
	out.total()
	return &out
}

// Headline is the rows lost in a few words ("33 tasks, 4 task_events
// rows"), or the unreadable pages when no row is known; "" when Lossy is
// false.
func (l *Loss) Headline() string {
	if !l.Lossy() {
		return ""
	}
	var parts []string
	for _, t := range l.Tables {
		if t.lossy() {
			parts = append(parts, t.rowsPhrase())
		}
	}
	if len(l.Unattributed) > 0 && !l.Exact {
		parts = append(parts, plural(len(l.Unattributed), "stray page")+" (rows on them unknown)")
	}
	if l.WALCommitsLost > 0 {
		parts = append(parts, l.walPhrase())
	}
	return strings.Join(parts, ", ")
}

// Summary is one line for diff and auto: "LOST: 33 tasks (ids …), 2 pages
// of tasks unreadable" when rows were or may have been lost; "1 page of
// tasks unreadable, no rows lost" when an intact index shows that what
// could not be read held no rows; "" when everything was read.
func (l *Loss) Summary() string {
	if l.Empty() {
		return ""
	}
	var rows, pages []string
	for _, t := range l.Tables {
		if t.lossy() {
			r := t.rowsPhrase()
			if t.Table == "tasks" && len(t.Missing) > 0 {
				r += " (ids " + t.keyList() + ")"
			}
			rows = append(rows, r)
		}
		if t.PagesUnreadable > 0 {
			pages = append(pages, fmt.Sprintf("%s of %s unreadable", plural(t.PagesUnreadable, "page"), t.Table))
		}
	}
	if n := len(l.Unattributed); n > 0 {
		pages = append(pages, plural(n, "stray page"))
	}
	if l.WALCommitsLost > 0 {
		rows = append(rows, l.walPhrase())
	}
	if !l.Lossy() {
		return strings.Join(pages, ", ") + ", no rows lost"
	}
	return "LOST: " + strings.Join(append(rows, pages...), ", ")
}

// Lines are the detail lines of a text report, one per table that had
// anything unreadable, each followed (withKeys) by the first keys of its
// lost rows; nil when everything was read.
func (l *Loss) Lines(withKeys bool) []string {
	if l.Empty() {
		return nil
	}
	var out []string
	for _, t := range l.Tables {
		var what []string
		switch {
		case t.lossy():
			s := t.countPhrase() + " lost"
			if t.Exact {
				s += fmt.Sprintf(" (exact: index %s lists every row)", t.Index)
			} else if t.MaxRowsLost != nil && t.RowsLost > 0 {
				s += fmt.Sprintf(" (at most %d, estimated from rowid gaps)", *t.MaxRowsLost)
			} else if t.MaxRowsLost == nil {
				s += " (no intact index or rowid range bounds it)"
			}
			what = append(what, s)
		case t.Exact:
			what = append(what, fmt.Sprintf("no rows lost (every row index %s lists is on the new board)", t.Index))
		}
		if t.PagesUnreadable > 0 {
			what = append(what, plural(t.PagesUnreadable, "page")+" unreadable"+pageList(t.Pages))
		}
		if t.BadCells > 0 {
			what = append(what, plural(t.BadCells, "cell")+" undecodable")
		}
		out = append(out, t.Table+": "+strings.Join(what, "; "))
		if withKeys && len(t.Missing) > 0 {
			name := "keys"
			if t.Table == "tasks" {
				name = "ids"
			}
			out = append(out, fmt.Sprintf("  %s: %s", name, t.keyList()))
		}
	}
	if n := len(l.Unattributed); n > 0 {
		s := "stray: " + plural(n, "page") + " no b-tree reaches, unreadable as b-tree pages" + pageList(l.Unattributed)
		if l.Exact {
			s += "; every table's count is exact, so they held no lost rows"
		}
		out = append(out, s)
	}
	if l.WALCommitsLost > 0 {
		out = append(out, "-wal: "+l.walPhrase()+"; which rows they wrote is unknown")
	}
	return out
}

func (l *Loss) walPhrase() string {
	return plural(l.WALCommitsLost, "committed transaction") + " after a broken -wal frame"
}

// countPhrase is "33 rows", "at least 3 rows", "up to 40 rows" or "an
// unknown number of rows".
func (t *TableLoss) countPhrase() string {
	switch {
	case t.RowsLost > 0 && t.Exact:
		return plural(t.RowsLost, "row")
	case t.RowsLost > 0:
		return "at least " + plural(t.RowsLost, "row")
	case t.MaxRowsLost != nil:
		return fmt.Sprintf("up to %s", plural(int(*t.MaxRowsLost), "row"))
	}
	return "an unknown number of rows"
}

// rowsPhrase is "33 tasks", "at least 3 task_events rows", or "up to 40
// task_runs rows" / "an unknown number of task_runs rows" when no row is
// known by name.
func (t *TableLoss) rowsPhrase() string {
	noun := func(n int64) string {
		if t.Table == "tasks" {
			if n == 1 {
				return "1 task"
			}
			return fmt.Sprintf("%d tasks", n)
		}
		if n == 1 {
			return "1 " + t.Table + " row"
		}
		return fmt.Sprintf("%d %s rows", n, t.Table)
	}
	switch {
	case t.RowsLost > 0 && t.Exact:
		return noun(int64(t.RowsLost))
	case t.RowsLost > 0:
		return "at least " + noun(int64(t.RowsLost))
	case t.MaxRowsLost != nil:
		return "up to " + noun(*t.MaxRowsLost)
	case t.Table == "tasks":
		return "an unknown number of tasks"
	}
	return "an unknown number of " + t.Table + " rows"
}

// keyList is the first keys of Missing and how many there are in all.
func (t *TableLoss) keyList() string {
	n := len(t.Missing)
	keys := make([]string, 0, min(n, maxKeysText))
	for _, m := range t.Missing[:min(n, maxKeysText)] {
		keys = append(keys, m.KeyText())
	}
	s := strings.Join(keys, ", ")
	if n > maxKeysText {
		s += fmt.Sprintf(" and %d more; --json lists all", n-maxKeysText)
	}
	return s
}

func pageList(pages []uint32) string {
	if len(pages) == 0 {
		return ""
	}
	ps := make([]string, 0, min(len(pages), maxKeysText))
	for _, p := range pages[:min(len(pages), maxKeysText)] {
		ps = append(ps, strconv.FormatUint(uint64(p), 10))
	}
	s := " (" + strings.Join(ps, ", ")
	if len(pages) > maxKeysText {
		s += fmt.Sprintf(", … %d in all", len(pages))
	}
	return s + ")"
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// sortMissing orders rows by rowid for rowid-keyed tables, else by key.
func sortMissing(ms []MissingRow, byRowid bool) {
	sort.SliceStable(ms, func(i, j int) bool {
		a, b := ms[i], ms[j]
		if byRowid && a.Rowid != nil && b.Rowid != nil {
			return *a.Rowid < *b.Rowid
		}
		if (a.Key == nil) != (b.Key == nil) {
			return a.Key != nil
		}
		if a.Key == nil {
			return a.Rowid != nil && (b.Rowid == nil || *a.Rowid < *b.Rowid)
		}
		return a.KeyText() < b.KeyText()
	})
}
