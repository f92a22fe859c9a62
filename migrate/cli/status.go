package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/migrate"
)

// statusVerb reports where a board stands: generation, pending steps,
// journal mode, foreign columns and tables, drifted tables.
type statusVerb struct{ json bool }

func (v *statusVerb) flags(fs *pflag.FlagSet) { fs.BoolVar(&v.json, "json", false, "print JSON") }
func (v *statusVerb) jsonOut() bool           { return v.json }

// statusJSON is the --json shape of status: the board, then
// migrate.Status's fields.
type statusJSON struct {
	Board *string `json:"board"`
	DB    string  `json:"db_path"`
	*migrate.Status
	Error string `json:"error,omitempty"`
}

func (v *statusVerb) run(ctx context.Context, a *App, t target) (any, error) {
	if t.Missing {
		if !v.json {
			fmt.Fprintf(a.Stdout, "%s: no database yet\n", t.Describe())
		}
		return statusJSON{Board: t.SlugOrNil(), DB: t.DB, Status: &migrate.Status{Generation: "none", Description: "no database file"}}, nil
	}
	st, err := migrate.StatusOf(ctx, t.DB, a.now(), a.busyTimeout())
	if err = a.explain(t, err); err != nil {
		return statusJSON{Board: t.SlugOrNil(), DB: t.DB, Status: &migrate.Status{}, Error: oneLine(err.Error())}, err
	}
	if !v.json {
		writeStatus(a.Stdout, t, st)
	}
	return statusJSON{Board: t.SlugOrNil(), DB: t.DB, Status: st}, nil
}

func writeStatus(w io.Writer, t target, st *migrate.Status) {
	if t.Slug != "" {
		fmt.Fprintf(w, "board:          %s\n", t.Slug)
	}
	fmt.Fprintf(w, "database:       %s\n", t.DB)
	fmt.Fprintf(w, "journal mode:   %s\n", st.JournalMode)
	fmt.Fprintf(w, "generation:     %s (%s)\n", st.Generation, st.Description)
	if len(st.Pending) == 0 {
		fmt.Fprintf(w, "pending steps:  none\n")
	} else {
		fmt.Fprintf(w, "pending steps:  %s\n", stepNumbers(st.Pending))
		for _, s := range st.Pending {
			fmt.Fprintf(w, "  %-3s %s (%d statement%s)\n", s.N, s.Name, len(s.Statements), plural(len(s.Statements)))
		}
	}
	fmt.Fprintf(w, "drifted tables: %s\n", listOrNone(st.DriftedTables))
	if len(st.MissingBase) > 0 {
		fmt.Fprintf(w, "missing base columns (reduced schema): %s\n", strings.Join(st.MissingBase, ", "))
	}
	if len(st.ForeignColumns) == 0 {
		fmt.Fprintf(w, "foreign columns: none\n")
	} else {
		fmt.Fprintf(w, "foreign columns (kept):\n")
		for _, c := range st.ForeignColumns {
			fmt.Fprintf(w, "  %s.%s %s: %s\n", c.Table, c.Column, c.Type, c.Origin)
		}
	}
	if len(st.ForeignTables) > 0 {
		fmt.Fprintf(w, "foreign tables (kept): %s\n", strings.Join(st.ForeignTables, ", "))
	}
	for _, d := range st.Differences {
		fmt.Fprintf(w, "column differs from the current schema (kept): %s\n", d)
	}
}

func stepNumbers(steps []migrate.Step) string {
	ns := make([]string, len(steps))
	for i, s := range steps {
		ns[i] = s.N
	}
	return strings.Join(ns, " ")
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
