package migrate

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/ncruces/go-sqlite3"
)

// Drift is one way a board's schema differs from the current one.
type Drift struct {
	Kind   string `json:"kind"` // missing_table, missing_column, column_mismatch, missing_index, drifted_table, extra_column
	Table  string `json:"table"`
	Column string `json:"column,omitempty"`
	Detail string `json:"detail,omitempty"`
}

func (d Drift) String() string {
	s := d.Kind + " " + d.Table
	if d.Column != "" {
		s += "." + d.Column
	}
	if d.Detail != "" {
		s += ": " + d.Detail
	}
	return s
}

var (
	canonOnce sync.Once
	canon     *Inspection
	canonErr  error
)

// Canonical returns the schema of a fresh board, built once per process in
// an in-memory database from this package's DDL.
func Canonical(ctx context.Context) (*Inspection, error) {
	canonOnce.Do(func() {
		c, err := sqlite3.Open(":memory:")
		if err != nil {
			canonErr = err
			return
		}
		defer c.Close()
		if _, err := Apply(ctx, c, Options{}); err != nil {
			canonErr = err
			return
		}
		canon, canonErr = Inspect(ctx, c)
	})
	return canon, canonErr
}

// Conformity compares insp with the current schema. Extra columns (legacy
// or from newer/forked boards) are reported as extra_column, which is not a
// fault: they are read without complaint and never dropped.
func Conformity(ctx context.Context, insp *Inspection) ([]Drift, error) {
	want, err := Canonical(ctx)
	if err != nil {
		return nil, err
	}
	var out []Drift
	for _, t := range CoreTables {
		if !insp.HasTable(t) {
			out = append(out, Drift{Kind: "missing_table", Table: t})
			continue
		}
		for _, wc := range want.Tables[t] {
			gc, ok := insp.Column(t, wc.Name)
			switch {
			case !ok:
				out = append(out, Drift{Kind: "missing_column", Table: t, Column: wc.Name})
			case !sameColumn(wc, gc):
				out = append(out, Drift{Kind: "column_mismatch", Table: t, Column: wc.Name,
					Detail: fmt.Sprintf("have %s, want %s", describe(gc), describe(wc))})
			}
		}
		for _, gc := range insp.Tables[t] {
			if !want.HasColumn(t, gc.Name) {
				out = append(out, Drift{Kind: "extra_column", Table: t, Column: gc.Name, Detail: describe(gc)})
			}
		}
	}
	for _, t := range insp.Drifted() {
		out = append(out, Drift{Kind: "drifted_table", Table: t})
	}
	var names []string
	for name := range want.Indexes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, ok := insp.Indexes[name]; !ok && !strings.HasPrefix(name, "sqlite_autoindex") {
			out = append(out, Drift{Kind: "missing_index", Table: want.Indexes[name], Column: "", Detail: name})
		}
	}
	return out, nil
}

// Faults returns the drifts that matter: everything but extra columns.
func Faults(ds []Drift) []Drift {
	var out []Drift
	for _, d := range ds {
		if d.Kind != "extra_column" {
			out = append(out, d)
		}
	}
	return out
}

func sameColumn(a, b ColumnInfo) bool {
	da, db := "", ""
	if a.Default != nil {
		da = *a.Default
	}
	if b.Default != nil {
		db = *b.Default
	}
	return strings.EqualFold(a.Type, b.Type) && a.NotNull == b.NotNull && da == db && a.PK == b.PK
}

func describe(c ColumnInfo) string {
	s := c.Type
	if c.NotNull {
		s += " NOT NULL"
	}
	if c.Default != nil {
		s += " DEFAULT " + *c.Default
	}
	if c.PK > 0 {
		s += fmt.Sprintf(" PK%d", c.PK)
	}
	return strings.TrimSpace(s)
}
