package recover

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Report is what Salvage did, shaped for `kanban-recover salvage --json`.
type Report struct {
	DBPath          string        `json:"db_path"`
	OutPath         string        `json:"out_path"`
	StartedAt       time.Time     `json:"started_at"`
	DurationMS      int64         `json:"duration_ms"`
	FileSize        int64         `json:"file_size"`
	PageSize        int           `json:"page_size"`
	PageSizeSource  string        `json:"page_size_source"` // header, wal or detected
	Reserved        int           `json:"reserved_bytes"`
	Pages           uint32        `json:"pages"`
	PagesFromWAL    int           `json:"pages_from_wal"`
	HeaderSane      bool          `json:"header_sane"`
	WAL             WALInfo       `json:"wal"`
	WALApplied      int           `json:"wal_frames_applied"`
	WALIgnored      int           `json:"wal_frames_ignored"`
	ShmStale        bool          `json:"shm_stale"`
	Shm             ShmInfo       `json:"shm"`
	SchemaSource    string        `json:"schema_source"` // page1, orphan-scan, builtin or mixed
	Tables          []TableReport `json:"tables"`
	RowsRecovered   int           `json:"rows_recovered"`
	RowsPartial     int           `json:"rows_partial"`
	LostAndFound    int           `json:"lost_and_found"`
	OrphanPages     int           `json:"orphan_pages"`
	FreelistPages   int           `json:"freelist_pages"`
	UnreadablePages int           `json:"unreadable_pages"`
	IntegrityCheck  string        `json:"integrity_check"`
	// Loss is what the board held that no readable page gave back, and
	// that no snapshot restored.
	Loss *Loss `json:"loss"`
	// Restored is what a verified snapshot gave back (nil when none was
	// used): counted apart from RowsRecovered, which the pages gave.
	Restored *Restored `json:"restored,omitempty"`
	Notes    []string  `json:"notes,omitempty"`
}

// TableReport is one table's part of a Report.
type TableReport struct {
	Name         string `json:"name"`
	SchemaSource string `json:"schema_source"`
	RootPage     uint32 `json:"root_page"`
	TableStats
	Inserted     int      `json:"inserted"`
	Refused      int      `json:"refused_to_lost_and_found"`
	Repaired     int      `json:"not_null_fields_filled"`
	AddedColumns []string `json:"added_columns,omitempty"`
}

// Table returns the named table's report, or nil.
func (r *Report) Table(name string) *TableReport {
	for i := range r.Tables {
		if r.Tables[i].Name == name {
			return &r.Tables[i]
		}
	}
	return nil
}

// fill copies the image and extraction summaries into r.
func (r *Report) fill(img *Image, ex *Extraction, ws writeStats) {
	r.FileSize, r.PageSize, r.PageSizeSource = img.FileSize, img.PageSize, img.PageSizeSource
	r.Reserved, r.Pages, r.PagesFromWAL = img.Reserved, img.NPages, img.PagesFromWAL()
	r.HeaderSane = img.Header.Sane()
	r.WAL, r.WALApplied, r.WALIgnored = img.WAL, img.WAL.Applied, img.WAL.Ignored
	r.Shm, r.ShmStale = img.Shm, img.Shm.Stale
	r.OrphanPages, r.FreelistPages, r.UnreadablePages = ex.OrphanPages, ex.FreelistPages, ex.UnreadablePages
	r.LostAndFound, r.Loss, r.Restored = ws.lost, ex.Loss, ws.restored
	if ws.restored != nil {
		r.Loss = ex.Loss.Without(ws.restored.Has)
	}
	r.Notes = append(append(r.Notes, img.Notes...), ex.Notes...)
	sources := map[string]bool{}
	for _, t := range ex.Tables {
		if t.Name == "sqlite_sequence" && len(t.Rows) == 0 {
			continue
		}
		sources[t.Source] = true
		r.Tables = append(r.Tables, TableReport{Name: t.Name, SchemaSource: t.Source, RootPage: t.Root,
			TableStats: t.Stats, Inserted: ws.inserted[t.Name], Refused: ws.failed[t.Name],
			Repaired: ws.repaired[t.Name], AddedColumns: ws.added[t.Name]})
		r.RowsRecovered += ws.inserted[t.Name]
		r.RowsPartial += t.Stats.Partial
	}
	r.SchemaSource = "mixed"
	if len(sources) == 1 {
		for s := range sources {
			r.SchemaSource = s
		}
	}
}

// Text prints a human summary.
func (r *Report) Text(w io.Writer) {
	fmt.Fprintf(w, "salvaged %s -> %s\n", r.DBPath, r.OutPath)
	fmt.Fprintf(w, "page size %d (%s), %d pages, %d from WAL; WAL frames applied %d, ignored %d",
		r.PageSize, r.PageSizeSource, r.Pages, r.PagesFromWAL, r.WALApplied, r.WALIgnored)
	if r.ShmStale {
		fmt.Fprint(w, "; -shm stale")
	}
	fmt.Fprintf(w, "\nschema from %s; %d orphan pages, %d unreadable, %d lost_and_found rows\n",
		r.SchemaSource, r.OrphanPages, r.UnreadablePages, r.LostAndFound)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "table\trows\ttree\torphan\twal\tpartial\tunreadable pages")
	for _, t := range r.Tables {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\n", t.Name, t.Inserted, t.FromTree, t.FromOrphans,
			t.FromWAL, t.Partial, t.UnreadablePages)
	}
	tw.Flush()
	if r.Restored != nil {
		fmt.Fprintln(w, "restored "+r.Restored.Summary())
	}
	switch h := r.Loss.Headline(); {
	case h != "":
		fmt.Fprintf(w, "LOST: %s\n", h)
	case !r.Loss.Empty():
		fmt.Fprintln(w, r.Loss.Summary())
	}
	for _, line := range r.Loss.Lines(true) {
		fmt.Fprintf(w, "  %s\n", line)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}
